/*
 * The device's record of its running check-in (alertctl checkin): which
 * one, until when, and its message sealed to the device's own key, so
 * that `extend` can prepare the alert again without the text lying in
 * clear on disk.  One file, checkin.json in the outbox directory, mode
 * 0600, written atomically; gone once the check-in ends.
 */
#ifndef ALERTCTL_CHECKIN_STATE_H
#define ALERTCTL_CHECKIN_STATE_H

#include <time.h>

#include <sodium.h>

#include "client_config.h"
#include "util.h"

struct checkin_state {
	char checkin_id[33];
	char deadline[RFC3339_LEN];
	char release_at[RFC3339_LEN];
	long grace_s;
	char *message; /* opened; NULL: none.  Wiped by checkin_state_clear */
};

/* 1 loaded, 0 none, -1 unreadable (logged). */
int checkin_state_load(const struct client_config *cfg,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    struct checkin_state *st);
int checkin_state_save(const struct client_config *cfg,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    const struct checkin_state *st);
void checkin_state_remove(const struct client_config *cfg);
void checkin_state_clear(struct checkin_state *st);

#endif
