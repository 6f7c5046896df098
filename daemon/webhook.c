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
    char out[WEBHOOK_ID_LEN])
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
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, "msg_", 4);
	sodium_bin2hex(out + 4, WEBHOOK_ID_LEN - 4, h, sizeof(h));
}

char *
webhook_body(const char *event, const char *alert_id,
    const struct alert_meta *m, const char *recipient_id)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", event,
	    "alert_id", alert_id, "device_id", m->device_id, "alert_type",
	    m->alert_type, "created_at", m->created_at, "received_at",
	    m->received_at, "recipient_id", recipient_id, "ciphertext",
	    m->ciphertext);
	if (o == NULL)
		return NULL;
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
