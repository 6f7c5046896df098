/*
 * A device's check-in request (docs/PROTOCOL.md, "Check-in timers"):
 * start, extend or end ("done") a timer after which the relay raises an
 * alert the device prepared.  The request is JSON signed by the device
 * under its own context, so the relay can tell that the device, and only
 * it, asked; both sides encode and decode it here.
 */
#ifndef ALERTRELAY_CHECKIN_REQ_H
#define ALERTRELAY_CHECKIN_REQ_H

#include <stddef.h>
#include <time.h>

#include <sodium.h>

#include "util.h"

#define CHECKIN_VERSION 1
#define SIGCTX_CHECKIN "alertrelay checkin v1\n"

enum checkin_op { CHECKIN_START, CHECKIN_EXTEND, CHECKIN_DONE };

struct checkin_req {
	enum checkin_op op;
	char checkin_id[33]; /* 32 lowercase hex, chosen by the device */
	char device_id[ID_MAX + 1];
	char created_at[RFC3339_LEN]; /* when the device signed it */
	/* start and extend: when the official must have checked in, and
	 * when the prepared alert is released (deadline plus grace, also
	 * its signed created_at); alert_id: the prepared alert's */
	char deadline[RFC3339_LEN];
	char release_at[RFC3339_LEN];
	char alert_id[33];
	/* extend and done of a device with PINs: the "duress" member, 0 or
	 * 1, signed with the rest and there either way (the same size);
	 * pinned 0: no such member (a device without PINs, or start) */
	int pinned, duress;
	time_t created_t, deadline_t, release_t;
};

const char *checkin_op_name(enum checkin_op op);
/* Canonical JSON text (sorted keys, compact); caller frees. */
char *checkin_req_encode(const struct checkin_req *r);
/* Parses and checks every field (deadline before release_at, both for
 * start and extend, none for done); -1 with why in err. */
int checkin_req_decode(const char *json, size_t len, struct checkin_req *r,
    char *err, size_t errlen);

void checkin_sign(const char *json, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char sig[crypto_sign_BYTES]);
int checkin_verify(const char *json, size_t len,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

#endif
