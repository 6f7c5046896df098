/*
 * Making the signed statement of an acknowledgement (ack_sign.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "ack_sign.h"
#include "ack_statement.h"
#include "b64.h"
#include "seckey.h"
#include "text_char.h"
#include "util.h"
#include "xmalloc.h"

unsigned char *
ack_sign_key_load(const char *path, char *err, size_t errlen)
{
	unsigned char *sk =
	    seckey_load(path, crypto_sign_SECRETKEYBYTES, err, errlen);

	if (sk != NULL && !seckey_ed25519_valid(sk)) {
		snprintf(err, errlen, "%s is not an Ed25519 signing key", path);
		seckey_free(sk);
		return NULL;
	}
	return sk;
}

static int
ack_sign_copy(char *out, size_t size, const char *in, const char *what,
    char *err, size_t errlen)
{
	size_t i, n = in != NULL ? strlen(in) : 0;

	for (i = 0; i < n; i++)
		if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f)
			return errf(err, errlen, "%s has a control character",
			    what);
	if (n >= size)
		return errf(err, errlen, "%s is longer than %zu bytes", what,
		    size - 1);
	memcpy(out, in != NULL ? in : "", n + 1);
	return 0;
}

/* The message, sealed to the device: only it can read it, and the
 * signature over the sealed bytes keeps the relay from changing it. */
static int
ack_sign_seal(struct ack_statement *st, const struct ack_sign_req *q, char *err,
    size_t errlen)
{
	size_t n = strlen(q->message);
	unsigned char *c;
	char *b64;
	int rc;

	if (q->box_pk == NULL)
		return errf(err, errlen,
		    "the device has no box_key in the directory: a message "
		    "cannot be sealed to it");
	if (n == 0 || n > ACK_STMT_MESSAGE_MAX)
		return errf(err, errlen, "the message must be 1..%d bytes",
		    ACK_STMT_MESSAGE_MAX);
	c = xmalloc(n + crypto_box_SEALBYTES);
	crypto_box_seal(c, (const unsigned char *)q->message, n, q->box_pk);
	b64 = b64_encode(c, n + crypto_box_SEALBYTES);
	rc = ack_sign_copy(st->message, sizeof(st->message), b64, "message",
	    err, errlen);
	free(b64);
	free(c);
	return rc;
}

json_t *
ack_sign_statement(const struct ack_sign_req *q,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err,
    size_t errlen)
{
	struct ack_statement st;
	json_t *o = NULL;

	memset(&st, 0, sizeof(st));
	time_rfc3339(st.at, time(NULL));
	if (q->alert_id == NULL || !alert_id_valid(q->alert_id) ||
	    q->recipient == NULL || !id_valid(q->recipient) ||
	    q->envelope_sha256 == NULL || strlen(q->envelope_sha256) != 64) {
		errf(err, errlen, "alert id, envelope hash or recipient bad");
		goto out;
	}
	snprintf(st.alert_id, sizeof(st.alert_id), "%s", q->alert_id);
	snprintf(st.recipient, sizeof(st.recipient), "%s", q->recipient);
	if (ack_sign_copy(st.envelope_sha256, sizeof(st.envelope_sha256),
	        q->envelope_sha256, "envelope hash", err, errlen) != 0 ||
	    ack_sign_copy(st.kind, sizeof(st.kind),
	        q->kind != NULL ? q->kind : "acknowledged", "kind", err,
	        errlen) != 0 ||
	    ack_sign_copy(st.by, sizeof(st.by), q->by, "name", err, errlen) !=
	        0 ||
	    ack_sign_copy(st.outcome, sizeof(st.outcome), q->outcome, "outcome",
	        err, errlen) != 0 ||
	    (q->message != NULL && ack_sign_seal(&st, q, err, errlen) != 0))
		goto out;
	if (!ack_statement_kind_valid(st.kind)) {
		errf(err, errlen,
		    "kind must be acknowledged, on_the_way or "
		    "closed");
		goto out;
	}
	/* the relay refuses a statement so named (daemon/ack_signed.c) */
	if (st.by[0] != '\0' && !text_ok(st.by, sizeof(st.by) - 1)) {
		errf(err, errlen,
		    "name has a character alertctl would show as ?");
		goto out;
	}
	ack_statement_sign(&st, sk);
	o = ack_statement_json(&st);
out:
	sodium_memzero(&st, sizeof(st));
	return o;
}

char *
ack_sign_body(const struct ack_sign_req *q,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err,
    size_t errlen)
{
	json_t *st = ack_sign_statement(q, sk, err, errlen), *body;
	char *text;

	if (st == NULL)
		return NULL;
	body = json_pack("{s:o}", "statement", st);
	if (q->by != NULL && *q->by != '\0')
		json_object_set_new(body, "by", json_string(q->by));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}
