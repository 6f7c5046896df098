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

#include <time.h>

#include <jansson.h>
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
/* 1 and *s filled (caller frees with alert_seal_free) when o, a stored
 * entry as read from disk, is intact and signed with pk; else 0.  The
 * fuzzer's entry point. */
int outbox_entry_parse(const json_t *o,
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], struct sealed_alert *s);
/* -1 on failure (logged): the alert can still be sent.  Never replaces
 * an entry.  hold (or NULL): a descriptor holding the new entry's lock
 * from before it appears, which the caller closes once it no longer
 * owns the alert (see "Held entries" below). */
int outbox_save(const char *dir, const struct sealed_alert *s,
    const unsigned char mac[OUTBOX_MAC_BYTES], int *hold);
/* The entry of an alert with a new sealing of the same alert (same
 * alert_id): written in one step (rename), then the refused marker
 * goes.  -1 (logged).  hold: as for outbox_save; the caller closes the
 * descriptor of the old entry. */
int outbox_replace(const char *dir, const struct sealed_alert *s,
    const unsigned char mac[OUTBOX_MAC_BYTES], int *hold);
/* Lets a held entry go (*hold -1 after; nothing when it is already). */
void outbox_let_go(int *hold);
/* A hold's value for a new alert the outbox could not keep (outbox_save
 * failed, or there is no outbox): it has no entry, so no other process
 * can have its bytes, and the process that sealed it may seal it again
 * (alert_reseal.h) as it may an entry it holds.  outbox_let_go makes it
 * -1. */
#define OUTBOX_NOT_KEPT (-2)
/* 1 and *s filled when DIR has this alert with this content and a valid
 * signature; 0 when DIR has no such alert; -1 when it has another one
 * under this id (which is kept: the relay may have that one). */
int outbox_load(const char *dir, const char *alert_id,
    const unsigned char mac[OUTBOX_MAC_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], struct sealed_alert *s);

/*
 * What became of each entry, as marker files next to it, each written
 * (and fsync'd, with the directory) only once it is true:
 * <alert_id>.accepted (the relay said accepted), .refused (the relay
 * refused these bytes for good), .closed (acknowledged, cancelled or
 * expired).  An entry written with "track":true and without .accepted
 * or .refused is unsent: send and watch send it again until accepted.
 * .closed says the entry is no longer followed, on the terms of the
 * process that wrote it (the button writes it on the relay's word too:
 * accept_relay_ack, a hold that finds the alert not open), never that
 * a person took the alert: nothing reads it as a verification.
 * Entries of older versions carry no "track" and are never resent.
 */
#define OUTBOX_ACCEPTED "accepted"
#define OUTBOX_REFUSED "refused"
#define OUTBOX_CLOSED "closed"
#define OUTBOX_LIST_MAX 64
/*
 * Held entries: the process that sealed an alert (send, the button)
 * holds an exclusive flock(2) on its entry from before it appears until
 * the alert is accepted or the process ends.  Unsent entries another
 * process holds are not listed (OUTBOX_UNSENT), so watch and other
 * senders never send their bytes, and only the holder may seal the
 * alert again (alert_reseal.h): no relay can then have taken the old
 * envelope from anyone else and answer the new one with "conflict".
 * The kernel lets the lock go when the holder dies: then the entry, as
 * it is on disk, is anyone's to send.
 */

/* 0, or -1 (logged). */
int outbox_mark(const char *dir, const char *alert_id, const char *what,
    const char *text);
int outbox_marked(const char *dir, const char *alert_id, const char *what);

enum outbox_which {
	OUTBOX_UNSENT, /* tracked, neither accepted nor refused */
	OUTBOX_OPEN, /* accepted, not closed, created at or after since */
};

/* Up to max entries of this device (valid signature by pk, intact),
 * oldest first, into *out (caller frees each with alert_seal_free and
 * the array); the count.  skip: an alert_id left out, or NULL. */
size_t outbox_list(const char *dir, enum outbox_which which, time_t since,
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], const char *skip,
    size_t max, struct sealed_alert **out);

#endif
