/*
 * The device's check of a "cancelled" receipt (cancel_receipt.h), with
 * the signature scheme the relay checks a cancel with (envelope.h).
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cancel_receipt.h"
#include "envelope.h"
#include "frame.h"

/* A signed cancel is ~250 bytes; anything much longer is not one. */
#define CANCEL_RECEIPT_MAX 2048

int
cancel_receipt_own(const json_t *ev, const char *alert_id,
    const char *device_id, const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	const char *b64 = json_str(ev, "cancel"),
	           *sigtext = json_str(ev, "cancel_sig");
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	const char *aid, *dev;
	json_t *cancel = NULL;
	size_t len = 0;
	int own = 0;

	if (b64 == NULL || sigtext == NULL || alert_id == NULL ||
	    device_id == NULL || pk == NULL ||
	    strlen(b64) > CANCEL_RECEIPT_MAX ||
	    b64_decode_exact(sigtext, sig, sizeof(sig)) != 0 ||
	    b64_decode(b64, strlen(b64), &json, &len) != 0)
		return 0;
	/* The signature first: the relay's bytes are parsed only once the
	 * device's key vouches for them. */
	if (cancel_verify_any((const char *)json, len, sig, pk) == 0)
		cancel = json_loadb((const char *)json, len,
		    JSON_REJECT_DUPLICATES, NULL);
	aid = json_str(cancel, "alert_id");
	dev = json_str(cancel, "device_id");
	own = aid != NULL && dev != NULL && strcmp(aid, alert_id) == 0 &&
	    strcmp(dev, device_id) == 0;
	json_decref(cancel);
	free(json);
	return own;
}
