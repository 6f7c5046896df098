/*
 * Whose word a relay notice about an alert is, checked the same way by
 * alertconsole and `alertctl receive` (docs/SECURITY.md, "Whoever takes
 * over the relay host"): the device's signed cancel ("cancel",
 * "cancel_sig") and a recipient's signed acknowledgement statement
 * ("statement"), verified with the receiver's keys.  The relay holds the
 * webhook secret, so a notice signed with it alone may be made up; it
 * is the relay's word, never the device's or the recipient's.
 */
#ifndef ALERTCTL_NOTICE_VERIFY_H
#define ALERTCTL_NOTICE_VERIFY_H

#include <stddef.h>

#include <jansson.h>

#include "hook_keys.h"

/* What the signed cancel in a notice body says. */
enum notice_cancel {
	NOTICE_RELAY, /* absent, does not verify, or its device is revoked */
	NOTICE_CANCEL, /* the device called it off (v1, v2 duress 0) */
	NOTICE_DURESS, /* the device called it off under duress */
};

/* The signed cancel in body, checked with k against alert_id and, when
 * not NULL, device_id (else the one it names).  A device the directory
 * (as it is now) lists as revoked, or no longer lists, has no word. */
enum notice_cancel notice_verify_cancel(struct hook_keys *k, const json_t *body,
    const char *alert_id, const char *device_id);

/* 1 when the acknowledgement notice body carries a statement that a
 * recipient of k's signed directory signed for alert_id (and for the
 * envelope envelope_sha256, when not NULL); name gets who: the
 * statement's "by", else the recipient's alias or id. */
int notice_verify_ack(struct hook_keys *k, const json_t *body,
    const char *alert_id, const char *envelope_sha256, char *name,
    size_t namelen);

#endif
