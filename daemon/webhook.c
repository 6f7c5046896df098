/*
 * Webhook messages per Standard Webhooks: body, id and signature
 * (webhook.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "webhook.h"
#include "webhook_sig.h"
#include "xmalloc.h"

void
webhook_id(const char *event, const char *alert_id, const char *recipient_id,
    const char *tier, char out[WEBHOOK_ID_LEN])
{
	crypto_generichash_state st;
	unsigned char h[16];

	/* Derived, not stored: a restarted relay computes the same id. */
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)event,
	    strlen(event) + 1);
	crypto_generichash_update(&st, (const unsigned char *)alert_id,
	    strlen(alert_id) + 1);
	crypto_generichash_update(&st, (const unsigned char *)recipient_id,
	    strlen(recipient_id) + 1);
	crypto_generichash_update(&st, (const unsigned char *)tier,
	    strlen(tier) + 1);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, "msg_", 4);
	sodium_bin2hex(out + 4, WEBHOOK_ID_LEN - 4, h, sizeof(h));
}

static void
webhook_copy(json_t *o, const json_t *meta, const char *from, const char *to)
{
	json_t *v = json_object_get(meta, from);

	if (json_is_string(v))
		json_object_set(o, to, v);
}

/* The device's signed cancel (docs/PROTOCOL.md "Cancel"), for the
 * receiver to check with the device's key. */
static void
webhook_signed_cancel(json_t *o, const json_t *meta)
{
	webhook_copy(o, meta, "cancel_signed", "cancel");
	webhook_copy(o, meta, "cancel_sig", "cancel_sig");
}

/* The statement the recipient signed, as it was stored; without one the
 * acknowledgement is the relay's word (an SMS reply), and says so. */
static void
webhook_ack_statement(json_t *o, const json_t *meta)
{
	const char *text =
	    json_string_value(json_object_get(meta, "acked_statement"));
	json_t *st = text != NULL ? json_loads(text, 0, NULL) : NULL;

	if (json_is_object(st))
		json_object_set(o, "statement", st);
	else
		json_object_set_new(o, "attested", json_string("relay"));
	json_decref(st);
}

char *
webhook_body(const char *event, const char *alert_id, const json_t *meta,
    const char *recipient_id, const char *tier, const char *device_alias)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:s, s:s}", "type", event, "alert_id", alert_id,
	    "recipient_id", recipient_id);
	webhook_copy(o, meta, "device_id", "device_id");
	webhook_copy(o, meta, "alert_type", "alert_type");
	webhook_copy(o, meta, "created_at", "created_at");
	webhook_copy(o, meta, "received_at", "received_at");
	webhook_copy(o, meta, "ref", "ref");
	/* Every event names the device as people know it, and the ref they
	 * acknowledge it by (alertctl ack REF); receivers ignore members
	 * they do not know. */
	if (device_alias != NULL)
		json_object_set_new(o, "device_alias",
		    json_string(device_alias));
	/* Every event says whether it is a drill; the receiver checks it
	 * against the device-signed inner alert. */
	json_object_set_new(o, "drill",
	    json_boolean(json_is_true(json_object_get(meta, "drill"))));
	/* After a duress cancel every event says so (duress.h). */
	if (json_is_true(json_object_get(meta, "duress"))) {
		json_object_set_new(o, "duress", json_true());
		webhook_copy(o, meta, "duress_at", "duress_at");
		/* the device's duress cancel: the proof that it is one */
		webhook_signed_cancel(o, meta);
	}
	if (strcmp(event, "alert.raised") == 0 ||
	    strcmp(event, "alert.escalated") == 0 ||
	    strcmp(event, "alert.duress") == 0) {
		webhook_copy(o, meta, "ciphertext", "ciphertext");
		/* what a signed acknowledgement names (docs/PROTOCOL.md) */
		webhook_copy(o, meta, "envelope_hash", "envelope_sha256");
		json_object_set_new(o, "tier", json_integer(atoi(tier)));
	} else if (strcmp(event, "alert.location") == 0) {
		/* tier is the update's number: retries keep their id */
		webhook_copy(o, meta, "ciphertext", "ciphertext");
	} else if (strncmp(event, "device.", 7) == 0) {
		webhook_copy(o, meta, "last_seen", "last_seen");
		webhook_copy(o, meta, "interval_s", "interval_s");
	} else if (strcmp(event, "alert.acknowledged") == 0) {
		webhook_copy(o, meta, "acked_by", "acknowledged_by");
		webhook_copy(o, meta, "acked_at", "acknowledged_at");
		webhook_ack_statement(o, meta);
	} else if (strcmp(event, "alert.cancelled") == 0) {
		webhook_copy(o, meta, "cancelled_at", "cancelled_at");
		webhook_signed_cancel(o, meta);
	} else
		webhook_copy(o, meta, "cancelled_at", "cancelled_at");
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

void
webhook_headers(const struct recipient_entry *r, const char *id,
    const char *body, size_t bodylen, char *headers[WEBHOOK_NHEADERS])
{
	char ts[24], *sig;

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	sig = webhook_sign(r->webhook_key, r->webhook_key_len, id, ts, body,
	    bodylen);
	headers[0] = xstrdup("Content-Type: application/json");
	headers[1] = xasprintf("webhook-id: %s", id);
	headers[2] = xasprintf("webhook-timestamp: %s", ts);
	headers[3] = xasprintf("webhook-signature: %s", sig);
	free(sig);
}

void
webhook_headers_free(char *headers[WEBHOOK_NHEADERS])
{
	size_t i;

	for (i = 0; i < WEBHOOK_NHEADERS; i++)
		free(headers[i]);
}
