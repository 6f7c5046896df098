/*
 * The organisation's signed directory (docs/DIRECTORY.md): which devices
 * may raise alerts (and with which signing keys), which recipients alerts
 * are sealed to (and how the relay reaches them), and the relay's TLS
 * pins.  The organisation's Ed25519 key signs it; the relay only serves
 * it.  So a relay that swaps a key in it is caught by every device.
 *
 * The signed file is JSON: {"alertrelay_directory": 1, "payload": B64,
 * "signature": B64}.  The signature covers SIGCTX_DIRECTORY followed by
 * the payload's bytes exactly as they are, so no canonical form of JSON
 * is needed.
 */
#ifndef ALERTRELAY_DIRECTORY_H
#define ALERTRELAY_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sodium.h>

#include "util.h"

#define DIRECTORY_FORMAT 1
#define SIGCTX_DIRECTORY "alertrelay directory v1\n"
#define DIRECTORY_MAX_BYTES (8 * 1024 * 1024)
/* The relay's "directory" frame carries the signed file as a string. */
#define DIRECTORY_FRAME_MAX (DIRECTORY_MAX_BYTES + DIRECTORY_MAX_BYTES / 8)
#define DIRECTORY_ALIAS_MAX 64
#define DIRECTORY_MAX_RELAYS 16
#define DIRECTORY_MAX_PINS 16
#define DIRECTORY_MAX_RETIRED 8
/* Versions are JSON integers; beyond 2^53 they stop being exact. */
#define DIRECTORY_VERSION_MAX 9007199254740991LL

/* A device's earlier signing key: envelopes it signed that were created
 * up to `until` (the rotation) still verify, so alerts waiting in the
 * device's outbox are not lost.  It never authenticates a session. */
struct dir_retired_key {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	time_t until;
};

struct dir_device {
	char id[ID_MAX + 1];
	char *alias;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	int revoked;
	struct dir_retired_key *retired;
	size_t nretired;
	/* X25519 key for what is sealed to the device (an operator's
	 * message in a signed acknowledgement); optional ("box_key"). */
	unsigned char box_pk[crypto_box_PUBLICKEYBYTES];
	int has_box;
};

struct dir_recipient {
	char id[ID_MAX + 1];
	char *alias;
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	char *webhook; /* URL, or NULL: not reached by webhook */
	char *sms; /* E.164 number, or NULL: not reached by SMS */
	/* Ed25519 key its acknowledgements are signed with ("sign_key",
	 * optional: without it they show as unverified). */
	unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
	int has_sign;
};

struct directory {
	long long version;
	time_t issued_at;
	char *relays[DIRECTORY_MAX_RELAYS]; /* "host:port" */
	size_t nrelays;
	char *pins[DIRECTORY_MAX_PINS]; /* relay TLS pins, current and next */
	size_t npins;
	struct dir_device *devices; /* sorted by id */
	size_t ndevices;
	struct dir_recipient *recipients; /* sorted by id */
	size_t nrecipients;
	/* Set by directory_verify(): the signed file as given, to serve
	 * as it is, and the hash of its payload. */
	char *signed_text;
	size_t signed_len;
	unsigned char payload_hash[crypto_generichash_BYTES];
};

/* Parses and checks a payload (also the administrator's unsigned
 * source, which has the same form).  On error err says what. */
/* 1 for an alias of 1 to DIRECTORY_ALIAS_MAX bytes, none a character
 * text_char.h calls bad (control characters, bidi overrides and
 * isolates, bytes that are no UTF-8): what alertctl and the console show
 * as a name.  Checked when the administrator sets one and when a
 * device is enrolled; a directory being read keeps the older, wider
 * rule (directory.c). */
int directory_alias_valid(const char *s);
int directory_parse(const char *json, size_t len, struct directory *d,
    char *err, size_t errlen);
/* Checks the signed file's signature with the organisation's public key,
 * then parses its payload. */
int directory_verify(const char *text, size_t len,
    const unsigned char org_pk[crypto_sign_PUBLICKEYBYTES], struct directory *d,
    char *err, size_t errlen);
/* Reads and verifies a signed directory file. */
int directory_load(const char *path,
    const unsigned char org_pk[crypto_sign_PUBLICKEYBYTES], struct directory *d,
    char *err, size_t errlen);
/* The signed file for a payload (caller frees). */
char *directory_sign(const char *payload, size_t len,
    const unsigned char org_sk[crypto_sign_SECRETKEYBYTES]);
void directory_free(struct directory *d);

/* May `next` follow `cur`?  Newer versions may; the same version only
 * with the same payload; older ones never (a rollback). */
int directory_successor(const struct directory *cur,
    const struct directory *next, char *err, size_t errlen);

const struct dir_device *directory_device(const struct directory *d,
    const char *id);
const struct dir_recipient *directory_recipient(const struct directory *d,
    const char *id);

/* Verifies an envelope signature with the device's key, or with a
 * retired key when the envelope was created before that key's rotation
 * (created_at as in the envelope). */
int dir_device_verify_envelope(const struct dir_device *dev, const char *json,
    size_t len, const unsigned char sig[crypto_sign_BYTES], time_t created_at);

#endif
