/*
 * The outbox keeps the exact signed envelope of every alert this device
 * sent, as DIR/<alert_id>.json (mode 0600, directory 0700).  A resend
 * with --alert-id then carries the same bytes, which the relay answers
 * with "duplicate" instead of "conflict" (a fresh sealing would differ:
 * sealed boxes are randomised).
 *
 * Entries hold only what the relay sees anyway (routing metadata and
 * ciphertexts) plus a keyed hash of the alert's content, so a resend
 * with different content is noticed without storing the plaintext.
 */
#ifndef ALERTCTL_OUTBOX_H
#define ALERTCTL_OUTBOX_H

#include <sodium.h>

#include "alert.h"
#include "alert_seal.h"
#include "client_config.h"

#define OUTBOX_MAC_BYTES 32
#define OUTBOX_KEEP_DAYS 30

/* The configured outbox, else $XDG_STATE_HOME or ~/.local/state
 * /alertrelay/outbox; NULL when there is no home (caller frees). */
char *outbox_dir(const struct client_config *cfg);
/* Keyed hash of everything that makes an alert "the same alert". */
void outbox_mac(const struct alert *a, const struct client_config *cfg,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char mac[OUTBOX_MAC_BYTES]);
/* -1 on failure (logged): the alert can still be sent.  Never replaces
 * an entry. */
int outbox_save(const char *dir, const struct sealed_alert *s,
    const unsigned char mac[OUTBOX_MAC_BYTES]);
/* 1 and *s filled when DIR has this alert with this content and a valid
 * signature; 0 when DIR has no such alert; -1 when it has another one
 * under this id (which is kept: the relay may have that one). */
int outbox_load(const char *dir, const char *alert_id,
    const unsigned char mac[OUTBOX_MAC_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], struct sealed_alert *s);

#endif
