/*
 * Signing an acknowledgement on a recipient's behalf (common/
 * ack_statement.h): for alertctl ack, the console and any integration.
 * The caller knows the alert (its id, and the SHA-256 of its envelope,
 * which the relay gives in the inbox: it is not secret, and a wrong one
 * only makes the device refuse the acknowledgement).
 */
#ifndef ALERTCTL_ACK_SIGN_H
#define ALERTCTL_ACK_SIGN_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

struct ack_sign_req {
	const char *alert_id;
	const char *envelope_sha256; /* hex */
	const char *recipient; /* its id */
	const char *by; /* the operator's name, or NULL */
	const char *kind; /* "acknowledged" (NULL), "on_the_way", "closed" */
	const char *outcome; /* with "closed", or NULL */
	const char *message; /* to the official, or NULL */
	const unsigned char *box_pk; /* the device's box_key, for message */
};

/* The recipient's Ed25519 secret key from its file (ID.sign.key, mode
 * 0600), in guarded memory (seckey_free); NULL with err. */
unsigned char *ack_sign_key_load(const char *path, char *err, size_t errlen);
/* The signed statement as a JSON object (caller decrefs); NULL with err
 * when a field is not acceptable. */
json_t *ack_sign_statement(const struct ack_sign_req *q,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err,
    size_t errlen);
/* The body for POST /v1/alerts/ID/ack: {"by":NAME,"statement":{...}}
 * (caller frees); NULL with err. */
char *ack_sign_body(const struct ack_sign_req *q,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err,
    size_t errlen);

#endif
