/*
 * Sealing an alert to its recipients and signing its envelope
 * (alert_seal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_seal.h"
#include "b64.h"
#include "frame.h"
#include "xmalloc.h"

/* Seals signed (the device-signed inner alert) to every recipient. */
static int
alert_seal_recipients(const unsigned char *signed_alert, size_t slen,
    const struct client_config *cfg, struct envelope *env, char *err,
    size_t errlen)
{
	size_t i, ctlen = slen + crypto_box_SEALBYTES;
	unsigned char *ct = xmalloc(ctlen);
	int rc = -1;

	env->recipients = xcalloc(cfg->nrecipients, sizeof(*env->recipients));
	for (i = 0; i < cfg->nrecipients; i++) {
		const struct client_recipient *r = &cfg->recipients[i];
		struct envelope_recipient *er = &env->recipients[i];

		if (crypto_box_seal(ct, signed_alert, slen, r->pk) != 0) {
			snprintf(err, errlen,
			    "recipient %s: unusable public key", r->id);
			goto out;
		}
		memcpy(er->id, r->id, sizeof(er->id));
		er->ciphertext = b64_encode(ct, ctlen);
		env->nrecipients = i + 1;
		if (strlen(er->ciphertext) > CIPHERTEXT_B64_MAX) {
			snprintf(err, errlen,
			    "alert too large; use a shorter "
			    "message");
			goto out;
		}
	}
	rc = 0;
out:
	free(ct);
	return rc;
}

int
alert_seal(const struct alert *a, const struct client_config *cfg,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    struct sealed_alert *out, char *err, size_t errlen)
{
	struct envelope env;
	unsigned char *signed_alert = NULL;
	unsigned long long slen = 0;
	char *inner;
	size_t ilen = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&env, 0, sizeof(env));
	if ((inner = alert_encode(a)) == NULL) {
		snprintf(err, errlen, "the message is not valid UTF-8");
		return -1;
	}
	ilen = strlen(inner);
	signed_alert = xmalloc(ilen + crypto_sign_BYTES);
	crypto_sign(signed_alert, &slen, (unsigned char *)inner, ilen, sk);
	if (alert_seal_recipients(signed_alert, (size_t)slen, cfg, &env, err,
	        errlen) != 0)
		goto out;
	memcpy(env.alert_id, a->alert_id, sizeof(env.alert_id));
	memcpy(env.device_id, a->device_id, sizeof(env.device_id));
	memcpy(env.alert_type, a->alert_type, sizeof(env.alert_type));
	memcpy(env.created_at, a->created_at, sizeof(env.created_at));
	env.drill = a->drill;
	out->envelope = envelope_encode(&env);
	envelope_sign(out->envelope, strlen(out->envelope), sk, out->sig);
	memcpy(out->alert_id, a->alert_id, sizeof(out->alert_id));
	memcpy(out->created_at, a->created_at, sizeof(out->created_at));
	rc = 0;
out:
	/* The plaintext must not outlive the sealing. */
	sodium_memzero(inner, ilen);
	free(inner);
	sodium_memzero(signed_alert, (size_t)slen);
	free(signed_alert);
	envelope_free(&env);
	return rc;
}

json_t *
alert_seal_frame(const struct sealed_alert *s)
{
	return frame_signed("alert", "envelope", s->envelope, s->sig,
	    sizeof(s->sig), "sig");
}

void
alert_seal_free(struct sealed_alert *s)
{
	free(s->envelope);
	memset(s, 0, sizeof(*s));
}
