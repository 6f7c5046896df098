/*
 * The device's signed cancel as a relay passes it on: the members
 * "cancel" (base64 of the CANCEL_JSON the device signed) and
 * "cancel_sig" of a "cancelled" receipt to the device (cancel_receipt.h)
 * and of an alert.cancelled notice to a receiver (notice_verify.h).
 * Decoded here only, with one size cap, for both: the relay writes those
 * bytes, and what they are worth is each caller's check.
 */
#ifndef ALERTCTL_SIGNED_CANCEL_H
#define ALERTCTL_SIGNED_CANCEL_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

/* A CANCEL_JSON is ~150 to 250 bytes: anything longer is not one. */
#define SIGNED_CANCEL_MAX 1024

struct signed_cancel {
	unsigned char *json; /* the signed bytes, len of them; malloc'd */
	size_t len;
	unsigned char sig[crypto_sign_BYTES];
};

/* 0 with o's signed cancel in sc (signed_cancel_free() it); -1 when
 * either member is missing, not a string, not base64, or the cancel is
 * longer than SIGNED_CANCEL_MAX bytes (sc then holds nothing). */
int signed_cancel_decode(const json_t *o, struct signed_cancel *sc);
/* The signed bytes as JSON (duplicate keys refused), or NULL. */
json_t *signed_cancel_parse(const struct signed_cancel *sc);
void signed_cancel_free(struct signed_cancel *sc);

#endif
