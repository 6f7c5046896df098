/*
 * The signed acknowledgement statement (docs/PROTOCOL.md, "Signed
 * acknowledgements"): what a recipient (or the person acting for it)
 * signs with the recipient's Ed25519 key when it takes an alert, so that
 * the device can tell a real acknowledgement from one a relay made up.
 *
 * On the wire it is a JSON object of strings:
 *	{"v":"1","alert_id":HEX32,"envelope_sha256":HEX64,"recipient":ID,
 *	 "by":NAME,"at":RFC3339,"kind":"acknowledged"|"on_the_way"|"closed",
 *	 "outcome":TEXT,"message":B64,"sig":B64}
 * ("by", "outcome" and "message" may be absent).  The signature covers
 * SIGCTX_ACK followed by the canonical bytes (ack_statement_bytes): one
 * "name=value\n" line per field in a fixed order, so no canonical JSON
 * is needed and the relay may re-encode the object freely.
 */
#ifndef ALERTRELAY_ACK_STATEMENT_H
#define ALERTRELAY_ACK_STATEMENT_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

#include "util.h"

#define SIGCTX_ACK "alertrelay ack statement v1\n"
#define ACK_STMT_VERSION "1"
#define ACK_STMT_TEXT_MAX 128 /* by, outcome */
#define ACK_STMT_MESSAGE_MAX 280 /* the operator's message, in clear */
/* sealed: crypto_box_SEALBYTES more, base64 */
#define ACK_STMT_SEALED_B64_MAX 512

struct ack_statement {
	char alert_id[33];
	char envelope_sha256[65]; /* lower-case hex */
	char recipient[ID_MAX + 1];
	char by[ACK_STMT_TEXT_MAX + 1]; /* "" when none */
	char at[RFC3339_LEN + 8];
	char kind[16];
	char outcome[ACK_STMT_TEXT_MAX + 1]; /* "" when none */
	char message[ACK_STMT_SEALED_B64_MAX + 1]; /* sealed, base64; or "" */
	unsigned char sig[crypto_sign_BYTES];
};

/* 1 for "acknowledged", "on_the_way", "closed". */
int ack_statement_kind_valid(const char *kind);
/* The canonical bytes the signature covers (caller frees). */
char *ack_statement_bytes(const struct ack_statement *st, size_t *len);
void ack_statement_sign(struct ack_statement *st,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES]);
/* 0 when the signature checks out with pk. */
int ack_statement_verify(const struct ack_statement *st,
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);
/* From its JSON object: 0, or -1 when any member is missing, too long,
 * of the wrong form or has a control character.  The fuzzer's entry. */
int ack_statement_parse(const json_t *o, struct ack_statement *st);
json_t *ack_statement_json(const struct ack_statement *st);
/* SHA-256 of the envelope bytes the device signed, as lower-case hex. */
void ack_statement_envelope_hash(const void *envelope, size_t len,
    char out[65]);

#endif
