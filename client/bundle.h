/*
 * The enrollment bundle: all a new device needs, in one JSON file that
 * the administrator hands to the official over a trusted channel:
 *
 *	{"alertrelay_enrollment": 1, "device_id": ID, "alias": TEXT,
 *	 "device_key": B64 (64-byte Ed25519 secret key),
 *	 "relays": ["host:port", ...], "relay_pins": [PIN, ...],
 *	 "org_key": B64 (the organisation's Ed25519 public key)}
 *
 * It holds the device's secret key, so it is written with mode 0600 and
 * refused, like any secret file, when group or others may read it.
 */
#ifndef ALERTCTL_BUNDLE_H
#define ALERTCTL_BUNDLE_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

#include "afile.h"
#include "util.h"

#define BUNDLE_FORMAT 1
#define BUNDLE_MAX_BYTES (64 * 1024)

struct bundle {
	char device_id[ID_MAX + 1];
	char *alias;
	unsigned char *sk; /* guarded memory (seckey.h) */
	json_t *relays; /* array of "host:port" */
	json_t *pins; /* array of relay pins */
	unsigned char org_pk[crypto_sign_PUBLICKEYBYTES];
};

/* Writes b as path, mode 0600. */
int bundle_write(const char *path, const struct bundle *b, enum afile_how how,
    char *err, size_t errlen);
/* Reads and checks every member; b owns what it holds until
 * bundle_free(). */
int bundle_read(const char *path, struct bundle *b, char *err, size_t errlen);
void bundle_free(struct bundle *b);

/* What a device can use, checked the same way when the administrator
 * sets it and when a device is enrolled with it. */
int bundle_relay_valid(const char *s); /* host:port, no odd characters */
int bundle_pin_valid(const char *s); /* as alertctl pin prints */

#endif
