/*
 * The signed acknowledgement statement: canonical bytes, signing,
 * checking and its JSON form (ack_statement.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ack_statement.h"
#include "b64.h"
#include "envelope.h"
#include "xmalloc.h"

int
ack_statement_kind_valid(const char *kind)
{
	return strcmp(kind, "acknowledged") == 0 ||
	    strcmp(kind, "on_the_way") == 0 || strcmp(kind, "closed") == 0;
}

char *
ack_statement_bytes(const struct ack_statement *st, size_t *len)
{
	char *s = xasprintf("v=" ACK_STMT_VERSION "\nalert_id=%s\n"
	                    "envelope_sha256=%s\nrecipient=%s\nby=%s\nat=%s\n"
	                    "kind=%s\noutcome=%s\nmessage=%s\n",
	    st->alert_id, st->envelope_sha256, st->recipient, st->by, st->at,
	    st->kind, st->outcome, st->message);

	*len = strlen(s);
	return s;
}

void
ack_statement_sign(struct ack_statement *st,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
	size_t len;
	char *b = ack_statement_bytes(st, &len);

	sig_sign_ctx(SIGCTX_ACK, b, len, sk, st->sig);
	free(b);
}

int
ack_statement_verify(const struct ack_statement *st,
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	size_t len;
	char *b = ack_statement_bytes(st, &len);
	int rc = sig_verify_ctx(SIGCTX_ACK, b, len, st->sig, pk);

	free(b);
	return rc;
}

/* A member copied into out (size max + 1); none is "" when optional.
 * No control character: a value never ends a canonical line early. */
static int
ack_statement_member(const json_t *o, const char *name, char *out, size_t max,
    int optional)
{
	const json_t *v = json_object_get(o, name);
	const char *s;
	size_t n, i;

	out[0] = '\0';
	if (v == NULL)
		return optional ? 0 : -1;
	if ((s = json_string_value(v)) == NULL)
		return -1;
	n = json_string_length(v);
	if (n > max || strlen(s) != n || (!optional && n == 0))
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	memcpy(out, s, n + 1);
	return 0;
}

static int
ack_statement_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

int
ack_statement_parse(const json_t *o, struct ack_statement *st)
{
	char v[8], sig[128];
	time_t t;

	memset(st, 0, sizeof(*st));
	if (!json_is_object(o) ||
	    ack_statement_member(o, "v", v, sizeof(v) - 1, 0) != 0 ||
	    strcmp(v, ACK_STMT_VERSION) != 0 ||
	    ack_statement_member(o, "alert_id", st->alert_id, 32, 0) != 0 ||
	    !alert_id_valid(st->alert_id) ||
	    ack_statement_member(o, "envelope_sha256", st->envelope_sha256, 64,
	        0) != 0 ||
	    !ack_statement_hex(st->envelope_sha256, 64) ||
	    ack_statement_member(o, "recipient", st->recipient, ID_MAX, 0) !=
	        0 ||
	    !id_valid(st->recipient) ||
	    ack_statement_member(o, "by", st->by, ACK_STMT_TEXT_MAX, 1) != 0 ||
	    ack_statement_member(o, "at", st->at, sizeof(st->at) - 1, 0) != 0 ||
	    time_rfc3339_parse(st->at, &t) != 0 ||
	    ack_statement_member(o, "kind", st->kind, sizeof(st->kind) - 1,
	        0) != 0 ||
	    !ack_statement_kind_valid(st->kind) ||
	    ack_statement_member(o, "outcome", st->outcome, ACK_STMT_TEXT_MAX,
	        1) != 0 ||
	    ack_statement_member(o, "message", st->message,
	        ACK_STMT_SEALED_B64_MAX, 1) != 0 ||
	    ack_statement_member(o, "sig", sig, sizeof(sig) - 1, 0) != 0 ||
	    b64_decode_exact(sig, st->sig, sizeof(st->sig)) != 0)
		return -1;
	return 0;
}

json_t *
ack_statement_json(const struct ack_statement *st)
{
	char *sig = b64_encode(st->sig, sizeof(st->sig));
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "v",
	    ACK_STMT_VERSION, "alert_id", st->alert_id, "envelope_sha256",
	    st->envelope_sha256, "recipient", st->recipient, "at", st->at,
	    "kind", st->kind, "sig", sig);

	if (st->by[0] != '\0')
		json_object_set_new(o, "by", json_string(st->by));
	if (st->outcome[0] != '\0')
		json_object_set_new(o, "outcome", json_string(st->outcome));
	if (st->message[0] != '\0')
		json_object_set_new(o, "message", json_string(st->message));
	free(sig);
	return o;
}

void
ack_statement_envelope_hash(const void *envelope, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, envelope, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}
