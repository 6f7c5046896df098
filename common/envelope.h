/*
 * The envelope: what the relay may see of an alert.  Routing metadata and
 * one sealed box per recipient, signed by the device.  The relay never
 * sees the inner alert (message, location).
 */
#ifndef ALERTRELAY_ENVELOPE_H
#define ALERTRELAY_ENVELOPE_H

#include <stddef.h>

#include <sodium.h>

#include "util.h"

#define ENVELOPE_VERSION 1
/* A drill's envelope: version 2 with "drill":true.  A real alert keeps
 * version 1, byte for byte, so that it still goes through every relay
 * that speaks version 1; a relay of before drills refuses a drill
 * (bad_envelope, unsupported version) rather than raise it as real. */
#define ENVELOPE_VERSION_DRILL 2
#define ENVELOPE_MAX_RECIPIENTS 64
#define ALERT_TYPE_MAX 15
/* A sealed, signed alert is at least this long. */
#define CIPHERTEXT_MIN (crypto_box_SEALBYTES + crypto_sign_BYTES + 2)
#define CIPHERTEXT_B64_MAX 16384

/* Domain separation: a signature made for one purpose never verifies
 * for another. */
#define SIGCTX_ENVELOPE "alertrelay envelope v1\n"
#define SIGCTX_AUTH "alertrelay auth v1\n"
#define SIGCTX_CANCEL "alertrelay cancel v1\n"
#define SIGCTX_CANCEL2 "alertrelay cancel v2\n" /* with PINs: duress */
/* A later position of an open alert (docs/PROTOCOL.md, revision 3). */
#define SIGCTX_LOCATION "alertrelay location v1\n"
#define AUTH_CHALLENGE_BYTES 32
#define AUTH_BINDING_BYTES 32
#define AUTH_EXPORTER_LABEL "EXPORTER-alertrelay-auth"

struct envelope_recipient {
	char id[ID_MAX + 1];
	char *ciphertext; /* base64 of crypto_box_seal(crypto_sign(alert)) */
};

struct envelope {
	char alert_id[33];
	char device_id[ID_MAX + 1];
	char alert_type[ALERT_TYPE_MAX + 1];
	char created_at[RFC3339_LEN];
	int drill; /* a rehearsal: signed, so no relay can flip it */
	size_t nrecipients;
	struct envelope_recipient *recipients;
};

/* panic, threat, test, or missed_checkin (raised by the relay for a
 * check-in the device prepared: checkin_req.h) */
int alert_type_valid(const char *type);

/* Canonical JSON text of the envelope (caller frees). */
char *envelope_encode(const struct envelope *env);
/* Parses and validates every field; on error err says which. */
int envelope_decode(const char *json, size_t len, struct envelope *env,
    char *err, size_t errlen);
void envelope_free(struct envelope *env);

/* Ed25519 over ctx || bytes: every signed kind of message (envelope,
 * cancel, directory) has a context of its own, so a signature made for
 * one never verifies as another.  verify: 0 when it checks out. */
void sig_sign_ctx(const char *ctx, const void *bytes, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES]);
int sig_verify_ctx(const char *ctx, const void *bytes, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

void envelope_sign(const char *json, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES]);
int envelope_verify(const char *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

/* A device's cancel request (docs/PROTOCOL.md): same scheme, own context. */
void cancel_sign(const char *json, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES]);
int cancel_verify(const char *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);
/* Either version: v1, or v2 (behind the device's PIN, with a duress
 * flag, SIGCTX_CANCEL2).  0 when it checks out. */
int cancel_verify_any(const char *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

/* Device authentication: a signature over the server's challenge and the
 * TLS channel binding (keying material exported from the session). */
void auth_sign(const unsigned char challenge[AUTH_CHALLENGE_BYTES],
    const unsigned char binding[AUTH_BINDING_BYTES],
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES]);
int auth_verify(const unsigned char challenge[AUTH_CHALLENGE_BYTES],
    const unsigned char binding[AUTH_BINDING_BYTES],
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

#endif
