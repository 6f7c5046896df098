/*
 * The enrollment bundle: all a new device needs, in one JSON file that
 * the administrator hands to the official over a trusted channel:
 *
 *	{"alertrelay_enrollment": 1, "device_id": ID, "alias": TEXT,
 *	 "device_key": B64 (64-byte Ed25519 secret key),
 *	 "relays": ["host:port", ...], "relay_pins": [PIN, ...],
 *	 "org_key": B64 (the organisation's Ed25519 public key),
 *	 "directory": TEXT (optional: the signed directory, as signed)}
 *
 * The directory is the newest one signed when the bundle was made (and
 * `directory sign` brings the bundles under ORG/devices up to date).  It
 * is signed by the organisation, so carrying it is safe; the enrolled
 * device keeps it as its first verified directory, which is its floor:
 * a relay that serves it anything older, even properly signed, is
 * refused on the very first contact.  It also lets the device seal an
 * alert before it has ever reached a relay.
 * It holds the device's secret key, so it is written with mode 0600 and
 * refused, like any secret file, when group or others may read it.
 */
#ifndef ALERTCTL_BUNDLE_H
#define ALERTCTL_BUNDLE_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

#include "afile.h"
#include "directory.h"
#include "util.h"

#define BUNDLE_FORMAT 1
/* A directory of up to 8 MiB, escaped as a JSON string, and the rest. */
#define BUNDLE_MAX_BYTES (DIRECTORY_FRAME_MAX + 64 * 1024)

struct bundle {
	char device_id[ID_MAX + 1];
	char *alias;
	unsigned char *sk; /* guarded memory (seckey.h) */
	json_t *relays; /* array of "host:port" */
	json_t *pins; /* array of relay pins */
	unsigned char org_pk[crypto_sign_PUBLICKEYBYTES];
	char *directory; /* the signed directory, or NULL */
	long long dir_version; /* its version; -1 without one */
};

/* Writes b as path, mode 0600. */
int bundle_write(const char *path, const struct bundle *b, enum afile_how how,
    char *err, size_t errlen);
/* Reads and checks every member; b owns what it holds until
 * bundle_free(). */
int bundle_read(const char *path, struct bundle *b, char *err, size_t errlen);
/* The same on text already read (name for messages): the fuzzer's
 * entry point. */
int bundle_parse(const char *text, size_t len, const char *name,
    struct bundle *b, char *err, size_t errlen);
/* Replaces the directory a bundle at path carries by signed (which must
 * verify with the bundle's org_key), unless it carries a newer one.
 * 1 when replaced, 0 when left, -1 with err. */
int bundle_set_directory(const char *path, const char *signed_text, char *err,
    size_t errlen);
void bundle_free(struct bundle *b);

/* What a device can use, checked the same way when the administrator
 * sets it and when a device is enrolled with it. */
int bundle_relay_valid(const char *s); /* host:port, no odd characters */
int bundle_pin_valid(const char *s); /* as alertctl pin prints */

#endif
