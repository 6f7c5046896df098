/*
 * Whose word a relay notice about an alert is (docs/SECURITY.md, "Whoever
 * takes over the relay host"): a cancel the device signed, an
 * acknowledgement a recipient signed, or only the relay's.  The relay
 * holds the webhook secret, so a notice signed with it alone may be made
 * up: such a notice is shown as the relay's word and neither silences
 * the alarm nor takes the alert from the queue of unclaimed ones.
 */
#ifndef ALERTCONSOLE_CONSOLE_NOTICE_H
#define ALERTCONSOLE_CONSOLE_NOTICE_H

#include <jansson.h>

#include "alert.h"
#include "console.h"
#include "hook.h"

/* What a signed cancel in a notice body ("cancel", "cancel_sig") says. */
enum console_notice_cancel {
	CONSOLE_NOTICE_RELAY, /* absent, or does not verify */
	CONSOLE_NOTICE_CANCEL, /* the device called it off (v1, v2 duress 0) */
	CONSOLE_NOTICE_DURESS, /* the device called it off under duress */
};

/* The signed cancel in body, checked with the keys of hook against
 * alert_id and, when not NULL, device_id (else the one it names). */
enum console_notice_cancel console_notice_cancel(struct hook_config *hook,
    const json_t *body, const char *alert_id, const char *device_id);

/* 1 when the acknowledgement notice body carries a statement that a
 * recipient of hook's signed directory signed for alert_id (and for the
 * envelope named in alert_body, when it names one); name gets who. */
int console_notice_ack(struct hook_config *hook, const json_t *body,
    const char *alert_id, const json_t *alert_body, char *name, size_t namelen);

/* Sets the API object o of alert a (opened from alert_body with hook)
 * from its notices: "state", "acked_by", "duress" and "notices"
 * ({"cancelled","acknowledged","duress"}: "device"/"signed", "relay" or
 * null) with "relay_acked_by". */
void console_notice_apply(struct console *c, struct hook_config *hook,
    const struct alert *a, const json_t *alert_body, json_t *o);

/* The timeline's kind of an alert.acknowledged or alert.cancelled
 * webhook body: "acknowledged" or "cancelled" when signed, else the same
 * with "_relay". */
const char *console_notice_kind(struct console *c, const char *type,
    const json_t *body);

#endif
