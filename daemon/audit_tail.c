/*
 * Reading the audit file's last records back (audit_tail.h).  Bounded:
 * one pread of at most AUDIT_TAIL_MAX bytes, once per process, when the
 * chain's head comes from Redis; the lines are parsed from the end back
 * while their numbers go down by one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_record.h"
#include "audit_tail.h"
#include "log.h"
#include "xmalloc.h"

static char *
audit_tail_bytes(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	off_t from;
	ssize_t n;

	*len = 0;
	if (fstat(fd, &st) != 0)
		return NULL;
	from = st.st_size > AUDIT_TAIL_MAX ? st.st_size - AUDIT_TAIL_MAX : 0;
	buf = xmalloc((size_t)(st.st_size - from) + 1);
	while ((n = pread(fd, buf, (size_t)(st.st_size - from), from)) < 0 &&
	    errno == EINTR)
		;
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Adds line (len bytes) as record seq; read from the end back, so the
 * run is turned round once it is whole (audit_tail_reverse). */
static void
audit_tail_add(struct audit_tail *t, const char *line, size_t len,
    long long seq)
{
	t->lines = xreallocarray(t->lines, t->n + 1, sizeof(*t->lines));
	t->seqs = xreallocarray(t->seqs, t->n + 1, sizeof(*t->seqs));
	t->lines[t->n] = xstrndup(line, len);
	t->seqs[t->n++] = seq;
}

static void
audit_tail_reverse(struct audit_tail *t)
{
	size_t i, j;
	char *l;
	long long s;

	for (i = 0, j = t->n; i + 1 < j; i++, j--) {
		l = t->lines[i];
		t->lines[i] = t->lines[j - 1];
		t->lines[j - 1] = l;
		s = t->seqs[i];
		t->seqs[i] = t->seqs[j - 1];
		t->seqs[j - 1] = s;
	}
}

int
audit_tail_read(int fd, const char *path, const char *instance,
    long long after_seq, struct audit_tail *t)
{
	struct audit_record r;
	const char *why;
	size_t len, end, start;
	char *buf;

	memset(t, 0, sizeof(*t));
	if ((buf = audit_tail_bytes(fd, &len)) == NULL) {
		log_warn("audit file %s: reading its last records", path);
		return -1;
	}
	/* a torn last line (audit_file.c) is no record: left out */
	end = len;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	while (end > 0) {
		start = end - 1; /* at the line's newline */
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		/* the first line may be cut by the bounded read */
		if (start == 0 && len == AUDIT_TAIL_MAX)
			break;
		if (audit_record_parse(buf + start, end - 1 - start, &r,
		        &why) != 0 ||
		    strcmp(r.instance, instance) != 0)
			break;
		if (t->last_seq == 0)
			t->last_seq = r.seq;
		if (r.seq <= after_seq ||
		    (t->n > 0 && r.seq != t->seqs[t->n - 1] - 1))
			break;
		audit_tail_add(t, buf + start, end - 1 - start, r.seq);
		end = start;
	}
	free(buf);
	audit_tail_reverse(t);
	return 0;
}

const char *
audit_tail_last(const struct audit_tail *t)
{
	return t->n > 0 ? t->lines[t->n - 1] : NULL;
}

void
audit_tail_clear(struct audit_tail *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->lines[i]);
	free(t->lines);
	free(t->seqs);
	memset(t, 0, sizeof(*t));
}
