/*
 * The signed statement an acknowledgement over HTTPS may carry
 * (common/ack_statement.h): checked here before the ack script stores
 * it, unchanged, with the acknowledgement and passes it on in the
 * receipt to the device, which is the one that must trust it.  The
 * relay's checks only spare the device statements that can never
 * verify; the device checks again against its own directory.
 */
#ifndef ALERTRELAY_ACK_SIGNED_H
#define ALERTRELAY_ACK_SIGNED_H

#include <stddef.h>

#include <jansson.h>

#include "ack_statement.h"
#include "directory.h"

enum ack_signed_result {
	ACK_SIGNED_NONE, /* the body carries no statement */
	ACK_SIGNED_OK, /* *out is the statement, to store as it is */
	ACK_SIGNED_BAD, /* malformed, another recipient, or a bad signature */
	ACK_SIGNED_BAD_NAME, /* its "by" is a name refused (code bad_name) */
};

/* From a request body ({"by":NAME,"statement":{...}}): the statement of
 * recipient rid; for alert aid when the path named one (else NULL: the
 * ack script compares the alert it finds).  dir may be NULL (no
 * directory at the relay, or no sign_key in it: the signature is left to
 * the device). */
enum ack_signed_result ack_signed_parse(const char *body, size_t len,
    const char *rid, const char *aid, const struct directory *dir, json_t **out,
    const char **why);

#endif
