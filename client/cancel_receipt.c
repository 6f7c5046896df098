/*
 * The device's check of a "cancelled" receipt (cancel_receipt.h), with
 * the signature scheme the relay checks a cancel with (envelope.h).
 */
#include <string.h>

#include "cancel_receipt.h"
#include "envelope.h"
#include "frame.h"
#include "signed_cancel.h"

int
cancel_receipt_own(const json_t *ev, const char *alert_id,
    const char *device_id, const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	struct signed_cancel sc;
	const char *aid, *dev;
	json_t *cancel = NULL;
	int own;

	if (alert_id == NULL || device_id == NULL || pk == NULL ||
	    signed_cancel_decode(ev, &sc) != 0)
		return 0;
	/* The signature first: the relay's bytes are parsed only once the
	 * device's key vouches for them. */
	if (cancel_verify_any((const char *)sc.json, sc.len, sc.sig, pk) == 0)
		cancel = signed_cancel_parse(&sc);
	aid = json_str(cancel, "alert_id");
	dev = json_str(cancel, "device_id");
	own = aid != NULL && dev != NULL && strcmp(aid, alert_id) == 0 &&
	    strcmp(dev, device_id) == 0;
	json_decref(cancel);
	signed_cancel_free(&sc);
	return own;
}
