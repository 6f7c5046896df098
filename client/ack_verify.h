/*
 * The device's check of every acknowledgement a receipt reports
 * (docs/PROTOCOL.md, "Signed acknowledgements"): the statement in it
 * must be signed with the recipient's sign_key from the directory this
 * device holds, for this alert and this envelope.  What the relay says
 * alone counts for what it is: the relay's word.
 */
#ifndef ALERTCTL_ACK_VERIFY_H
#define ALERTCTL_ACK_VERIFY_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

#include "ack_statement.h"
#include "client_config.h"

enum ack_verdict {
	ACK_NOT_AN_ACK, /* another event */
	ACK_VERIFIED, /* signed by the recipient, for this alert */
	ACK_RELAY, /* the relay's word only (SMS, or not signed) */
	ACK_UNVERIFIED, /* the directory has no signing keys to check with */
	ACK_REFUSED, /* forged or for something else: not an ack at all */
};

struct ack_check {
	enum ack_verdict verdict;
	char kind[16]; /* acknowledged, on_the_way, closed */
	char who[ACK_STMT_TEXT_MAX + 2 * ID_MAX + 8]; /* "NAME (alias)" */
	char outcome[ACK_STMT_TEXT_MAX + 1];
	char message[ACK_STMT_MESSAGE_MAX + 1]; /* opened, or "" */
	const char *why; /* for ACK_REFUSED and ACK_UNVERIFIED */
};

/* One device's checks: its configuration and secret key (device_open),
 * both borrowed and outliving the verifier, the envelope it last sent,
 * and its verified directory, cached until the file changes.  A NULL
 * verifier finds every statement unverified. */
struct ack_verifier;
struct ack_verifier *ack_verify_new(const struct client_config *cfg,
    const unsigned char *sk);
void ack_verify_free(struct ack_verifier *av);
/* The envelope hash of an alert this device sent (send). */
void ack_verify_sent(struct ack_verifier *av, const char *alert_id,
    const char *envelope, size_t len);
/* The verdict on event ev of alert alert_id. */
void ack_verify_event(struct ack_verifier *av, const json_t *ev,
    const char *alert_id, struct ack_check *c);
/* --accept-relay-ack: whether such a verdict ends a wait for an ack. */
int ack_verify_ends_wait(enum ack_verdict v, int accept_relay);
/* 1 when receipt ev ends alert_id for the device (the panic button's
 * alert, the location updates of follow): an acknowledgement that ends
 * a wait for one (ack_verify_ends_wait: verified, or the directory has
 * no signing keys, or with accept_relay the relay's word), or this
 * device's own signed cancel (ack_verify_own_cancel).  The relay's word
 * alone ends nothing: an unsigned or forged ack, a cancel without the
 * device's signature, and "expired" (the relay's timer; the callers say
 * what it means to them). */
int ack_verify_closes(struct ack_verifier *av, const json_t *ev,
    const char *alert_id, int accept_relay);
/* 1 when receipt ev is a "cancelled" that carries this device's own
 * signed cancel of alert_id (cancel_receipt.h). */
int ack_verify_own_cancel(const struct ack_verifier *av, const json_t *ev,
    const char *alert_id);

#endif
