/*
 * The chain checks of alertctl audit verify (audit_verify.h).  A broken
 * link between records k and k+1 means one of them was changed: if the
 * link from k+1 to k+2 holds, k+1 is as written and k was changed;
 * otherwise k+1 was.  So the verdict on a broken link waits for the
 * next record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_verify.h"
#include "xmalloc.h"

static int
audit_verify_fail(struct audit_verify *v, long long seq, const char *fmt,
    long long a, long long b)
{
	if (v->bad == 0) {
		v->bad = seq;
		snprintf(v->why, sizeof(v->why), fmt, a, b);
	}
	return -1;
}

/* A missing number; when the record in its place is the relay's own
 * audit.gap (audit.c: one copy of the chain lacks records the other
 * has), what it says is told with it.  Missing all the same. */
static int
audit_verify_gap(struct audit_verify *v, const struct audit_record *r,
    long long expect)
{
	size_t len;

	audit_verify_fail(v, expect,
	    "record %lld is missing or out of order (found record %lld in "
	    "its place)",
	    expect, r->seq);
	len = strlen(v->why);
	if (strcmp(r->action, "audit.gap") == 0 && len < sizeof(v->why))
		snprintf(v->why + len, sizeof(v->why) - len,
		    "; record %lld is the relay's audit.gap: %s", r->seq,
		    r->reason);
	return -1;
}

void
audit_verify_init(struct audit_verify *v, const unsigned char *pk,
    const char *head_line, const char *last_line)
{
	memset(v, 0, sizeof(*v));
	v->pk = pk;
	audit_verify_expect(v, head_line, last_line);
}

void
audit_verify_expect(struct audit_verify *v, const char *head_line,
    const char *last_line)
{
	struct audit_record r;
	const char *why;

	free(v->head_line);
	v->head_line = NULL;
	if (head_line != NULL &&
	    audit_record_parse(head_line, strlen(head_line), &v->head, &why) ==
	        0)
		v->head_line = xstrdup(head_line);
	if (last_line != NULL &&
	    audit_record_parse(last_line, strlen(last_line), &r, &why) == 0)
		v->expect_last = r.seq;
}

void
audit_verify_free(struct audit_verify *v)
{
	free(v->head_line);
	v->head_line = NULL;
}

static int
audit_verify_signed(struct audit_verify *v, const struct audit_record *r)
{
	if (strcmp(r->action, AUDIT_SIGNED) != 0 || v->pk == NULL)
		return 0;
	if (audit_record_check_sig(r, v->pk) != 0)
		return audit_verify_fail(v, r->seq,
		    "record %lld: the signed head's signature does not verify "
		    "(records after %lld were changed, or the wrong key)",
		    r->seq, v->last_signed);
	v->nsigned++;
	v->last_signed = r->seq;
	return 0;
}

int
audit_verify_line(struct audit_verify *v, const char *line, size_t len)
{
	struct audit_record r;
	const char *why;
	char hash[AUDIT_HASH_HEX];
	long long expect = v->last + 1;

	if (v->bad != 0)
		return -1;
	if (audit_record_parse(line, len, &r, &why) != 0) {
		audit_verify_fail(v, v->n == 0 ? 1 : expect,
		    "record %lld: does not parse", v->n == 0 ? 1 : expect, 0);
		snprintf(v->why + strlen(v->why),
		    sizeof(v->why) - strlen(v->why), " (%s)", why);
		/* what a crash while writing leaves: a record's start */
		if (len > 0 && line[0] == '{' && line[len - 1] != '}')
			snprintf(v->why + strlen(v->why),
			    sizeof(v->why) - strlen(v->why),
			    "; a torn line: it ends inside the record, as a "
			    "crash while writing leaves it (Redis's copy of "
			    "the chain may have it whole)");
		return -1;
	}
	if (v->n == 0) {
		snprintf(v->instance, sizeof(v->instance), "%s", r.instance);
		v->first = r.seq;
		if (r.seq == 1 && strcmp(r.prev, audit_record_genesis) != 0)
			return audit_verify_fail(v, 1,
			    "record %lld: the first record does not start a "
			    "chain%.0lld",
			    1, 0);
	} else {
		if (r.seq != expect)
			return audit_verify_gap(v, &r, expect);
		if (strcmp(r.instance, v->instance) != 0)
			return audit_verify_fail(v, r.seq,
			    "record %lld: another instance's record%.0lld",
			    r.seq, 0);
		if (v->broken != 0) {
			/* k = v->broken, this is k+2 */
			if (strcmp(r.prev, v->last_hash) != 0)
				return audit_verify_fail(v, v->broken + 1,
				    "record %lld was changed (it does not "
				    "follow record %lld)",
				    v->broken + 1, v->broken);
			return audit_verify_fail(v, v->broken,
			    "record %lld was changed (record %lld does not "
			    "follow it)",
			    v->broken, v->broken + 1);
		}
		if (strcmp(r.prev, v->last_hash) != 0)
			v->broken = v->last;
	}
	audit_record_hash(line, len, hash);
	memcpy(v->last_hash, hash, sizeof(hash));
	v->last = r.seq;
	v->n++;
	if (v->head_line != NULL && r.seq == v->head.seq &&
	    (len != strlen(v->head_line) || memcmp(line, v->head_line, len)))
		return audit_verify_fail(v, r.seq,
		    "record %lld is not the signed head Redis keeps%.0lld",
		    r.seq, 0);
	return v->broken != 0 ? 0 : audit_verify_signed(v, &r);
}

int
audit_verify_end(struct audit_verify *v)
{
	if (v->bad != 0)
		return -1;
	if (v->broken != 0)
		return audit_verify_fail(v, v->broken,
		    "record %lld was changed (record %lld does not follow it)",
		    v->broken, v->broken + 1);
	if (v->head_line != NULL && v->head.seq > v->last)
		return audit_verify_fail(v, v->last + 1,
		    "record %lld is missing: the log ends there, before the "
		    "signed head at record %lld (cut off)",
		    v->last + 1, v->head.seq);
	if (v->expect_last > v->last)
		return audit_verify_fail(v, v->last + 1,
		    "record %lld is missing: the log ends there, before the "
		    "last record %lld (cut off)",
		    v->last + 1, v->expect_last);
	return 0;
}
