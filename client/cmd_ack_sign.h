/*
 * alertctl ack's signed statement (ack_sign.h): which key, which alert
 * (its id and envelope hash, from the relay's inbox answer), and the
 * operator's message sealed to the device (its box_key, from the
 * directory the contact point holds).
 */
#ifndef ALERTCTL_CMD_ACK_SIGN_H
#define ALERTCTL_CMD_ACK_SIGN_H

#include "cp_http.h"

struct cmd_ack_sign {
	const char *sign_key; /* --sign-key */
	const char *by; /* --by */
	const char *kind; /* --on-the-way / --closed */
	const char *outcome; /* --closed OUTCOME */
	const char *message; /* --message */
	int unsigned_ok; /* --unsigned: no statement, on purpose */
};

/* The POST body into *body (caller frees): the signed statement for
 * target (an alert id or a reference), or NULL for an unsigned
 * acknowledgement (no signing key anywhere, or --unsigned).  EXIT_OK,
 * or EXIT_FAIL when a key is configured but the statement cannot be
 * made (said why). */
int cmd_ack_sign_body(struct cp_http *h, const struct cmd_ack_sign *s,
    const char *target, char **body);

#endif
