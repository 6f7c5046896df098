/*
 * The envelope, what the relay may see of an alert: encoding and
 * decoding it (envelope.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "envelope.h"
#include "frame.h"
#include "xmalloc.h"

int
alert_type_valid(const char *type)
{
	return strcmp(type, "panic") == 0 || strcmp(type, "threat") == 0 ||
	    strcmp(type, "test") == 0 || strcmp(type, "missed_checkin") == 0;
}

char *
envelope_encode(const struct envelope *env)
{
	json_t *o, *rs;
	size_t i;
	char *s;

	rs = json_array();
	for (i = 0; i < env->nrecipients; i++)
		json_array_append_new(rs,
		    json_pack("{s:s, s:s}", "id", env->recipients[i].id,
		        "ciphertext", env->recipients[i].ciphertext));
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o}", "v",
	    env->drill ? ENVELOPE_VERSION_DRILL : ENVELOPE_VERSION, "alert_id",
	    env->alert_id, "device_id", env->device_id, "alert_type",
	    env->alert_type, "created_at", env->created_at, "recipients", rs);
	if (env->drill)
		json_object_set_new(o, "drill", json_true());
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

static int
envelope_copy_field(const json_t *o, const char *key, char *dst, size_t size,
    char *err, size_t errlen)
{
	if (json_str_copy(o, key, dst, size) != 0) {
		snprintf(err, errlen, "envelope: missing or bad %s", key);
		return -1;
	}
	return 0;
}

static int
envelope_ciphertext_ok(const char *ct)
{
	unsigned char *bin;
	size_t binlen, ctlen;

	if (ct == NULL || (ctlen = strlen(ct)) > CIPHERTEXT_B64_MAX)
		return 0;
	if (b64_decode(ct, ctlen, &bin, &binlen) != 0)
		return 0;
	free(bin);
	return binlen >= CIPHERTEXT_MIN;
}

static int
envelope_decode_recipients(const json_t *rs, struct envelope *env, char *err,
    size_t errlen)
{
	size_t i, j, n = json_array_size(rs);

	if (!json_is_array(rs) || n == 0 || n > ENVELOPE_MAX_RECIPIENTS) {
		snprintf(err, errlen, "envelope: recipients must be 1..%d",
		    ENVELOPE_MAX_RECIPIENTS);
		return -1;
	}
	env->recipients = xcalloc(n, sizeof(*env->recipients));
	for (i = 0; i < n; i++) {
		json_t *r = json_array_get(rs, i);
		struct envelope_recipient *er = &env->recipients[i];
		const char *ct = json_str(r, "ciphertext");

		if (envelope_copy_field(r, "id", er->id, sizeof(er->id), err,
		        errlen) != 0 ||
		    !id_valid(er->id)) {
			snprintf(err, errlen, "envelope: bad recipient id");
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(env->recipients[j].id, er->id) == 0) {
				snprintf(err, errlen,
				    "envelope: recipient listed twice");
				return -1;
			}
		if (!envelope_ciphertext_ok(ct)) {
			snprintf(err, errlen, "envelope: bad ciphertext for %s",
			    er->id);
			return -1;
		}
		er->ciphertext = xstrdup(ct);
		env->nrecipients = i + 1;
	}
	return 0;
}

/* Version 1 has no drill member (one there would be a drill that a
 * relay of before drills takes for real); version 2 must have it. */
static int
envelope_decode_version(const json_t *o, struct envelope *env, char *err,
    size_t errlen)
{
	const json_t *v = json_object_get(o, "v");
	const json_t *d = json_object_get(o, "drill");

	if (json_is_integer(v) && json_integer_value(v) == ENVELOPE_VERSION &&
	    d == NULL)
		return 0;
	if (json_is_integer(v) &&
	    json_integer_value(v) == ENVELOPE_VERSION_DRILL &&
	    json_is_boolean(d)) {
		env->drill = json_is_true(d);
		return 0;
	}
	snprintf(err, errlen, "envelope: unsupported version");
	return -1;
}

int
envelope_decode(const char *json, size_t len, struct envelope *env, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *o;
	time_t t;
	int rc = -1;

	memset(env, 0, sizeof(*env));
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "envelope: not a JSON object");
		goto out;
	}
	if (envelope_decode_version(o, env, err, errlen) != 0)
		goto out;
	if (envelope_copy_field(o, "alert_id", env->alert_id,
	        sizeof(env->alert_id), err, errlen) != 0 ||
	    envelope_copy_field(o, "device_id", env->device_id,
	        sizeof(env->device_id), err, errlen) != 0 ||
	    envelope_copy_field(o, "alert_type", env->alert_type,
	        sizeof(env->alert_type), err, errlen) != 0 ||
	    envelope_copy_field(o, "created_at", env->created_at,
	        sizeof(env->created_at), err, errlen) != 0)
		goto out;
	if (!alert_id_valid(env->alert_id)) {
		snprintf(err, errlen,
		    "envelope: alert_id is not 32 hex digits");
		goto out;
	}
	if (!id_valid(env->device_id)) {
		snprintf(err, errlen, "envelope: bad device_id");
		goto out;
	}
	if (!alert_type_valid(env->alert_type)) {
		snprintf(err, errlen, "envelope: unknown alert_type");
		goto out;
	}
	if (time_rfc3339_parse(env->created_at, &t) != 0) {
		snprintf(err, errlen,
		    "envelope: created_at is not RFC 3339 UTC");
		goto out;
	}
	if (envelope_decode_recipients(json_object_get(o, "recipients"), env,
	        err, errlen) != 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	if (rc != 0)
		envelope_free(env);
	return rc;
}

void
envelope_free(struct envelope *env)
{
	size_t i;

	for (i = 0; i < env->nrecipients; i++)
		free(env->recipients[i].ciphertext);
	free(env->recipients);
	env->recipients = NULL;
	env->nrecipients = 0;
}

/* The bytes a signature covers: ctx || a || b. */
static unsigned char *
sig_message(const char *ctx, const void *a, size_t alen, const void *b,
    size_t blen, size_t *len)
{
	size_t clen = strlen(ctx);
	unsigned char *m = xmalloc(clen + alen + blen);

	memcpy(m, ctx, clen);
	memcpy(m + clen, a, alen);
	if (blen > 0)
		memcpy(m + clen + alen, b, blen);
	*len = clen + alen + blen;
	return m;
}

void
sig_sign_ctx(const char *ctx, const void *json, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES])
{
	size_t mlen;
	unsigned char *m = sig_message(ctx, json, len, NULL, 0, &mlen);

	crypto_sign_detached(sig, NULL, m, mlen, sk);
	free(m);
}

int
sig_verify_ctx(const char *ctx, const void *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	size_t mlen;
	unsigned char *m = sig_message(ctx, json, len, NULL, 0, &mlen);
	int rc = crypto_sign_verify_detached(sig, m, mlen, pk);

	free(m);
	return rc;
}

void
envelope_sign(const char *json, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES])
{
	sig_sign_ctx(SIGCTX_ENVELOPE, json, len, sk, sig);
}

int
envelope_verify(const char *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	return sig_verify_ctx(SIGCTX_ENVELOPE, json, len, sig, pk);
}

void
cancel_sign(const char *json, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES])
{
	sig_sign_ctx(SIGCTX_CANCEL, json, len, sk, sig);
}

int
cancel_verify(const char *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	return sig_verify_ctx(SIGCTX_CANCEL, json, len, sig, pk);
}

int
cancel_verify_any(const char *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	if (cancel_verify(json, len, sig, pk) == 0)
		return 0;
	return sig_verify_ctx(SIGCTX_CANCEL2, json, len, sig, pk);
}

void
auth_sign(const unsigned char challenge[AUTH_CHALLENGE_BYTES],
    const unsigned char binding[AUTH_BINDING_BYTES],
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES])
{
	size_t mlen;
	unsigned char *m = sig_message(SIGCTX_AUTH, challenge,
	    AUTH_CHALLENGE_BYTES, binding, AUTH_BINDING_BYTES, &mlen);

	crypto_sign_detached(sig, NULL, m, mlen, sk);
	free(m);
}

int
auth_verify(const unsigned char challenge[AUTH_CHALLENGE_BYTES],
    const unsigned char binding[AUTH_BINDING_BYTES],
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	size_t mlen;
	unsigned char *m = sig_message(SIGCTX_AUTH, challenge,
	    AUTH_CHALLENGE_BYTES, binding, AUTH_BINDING_BYTES, &mlen);
	int rc = crypto_sign_verify_detached(sig, m, mlen, pk);

	free(m);
	return rc;
}
