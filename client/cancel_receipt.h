/*
 * Whether a "cancelled" receipt is this device's own doing: the relay
 * passes the device's signed cancel in it (cancel, cancel_sig; see
 * docs/PROTOCOL.md), and only one that verifies with the device's own
 * key, for this alert and this device, ends anything on the device.
 * Without it, "cancelled" is the relay's word: any relay, or anyone
 * writing its Redis, can say it.
 */
#ifndef ALERTCTL_CANCEL_RECEIPT_H
#define ALERTCTL_CANCEL_RECEIPT_H

#include <jansson.h>
#include <sodium.h>

/* 1 when receipt ev carries a cancel of alert_id by device_id, signed
 * (v1 or v2) with pk; else 0. */
int cancel_receipt_own(const json_t *ev, const char *alert_id,
    const char *device_id, const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

#endif
