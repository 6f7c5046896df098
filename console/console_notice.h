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

/* Sets the API object o of alert a (opened from alert_body with hook)
 * from its notices: "state", "acked_by", "duress" and "notices"
 * ({"cancelled","acknowledged","duress"}: "device"/"signed", "relay" or
 * null) with "relay_acked_by". */
void console_notice_apply(struct console *c, struct hook_config *hook,
    const struct alert *a, const json_t *alert_body, json_t *o);

/* The timeline's kind of an alert.acknowledged or alert.cancelled
 * webhook body: "acknowledged" or "cancelled" when it takes its alert
 * as console_notice_signed has it (checked against the alert's first
 * row in the database, which must have come for the notice's
 * recipient), else the same with "_relay": the relay's word, also for
 * a cancel another device signed, a notice through another recipient's
 * hook and an alert not (or no longer) stored.  For "acknowledged",
 * name (namelen bytes, may be NULL) gets who signed it. */
const char *console_notice_kind(struct console *c, const char *type,
    const json_t *body, char *name, size_t namelen);

/* The relay's unsigned acknowledged_by of an alert.acknowledged body,
 * as the page, the timeline and the export show it, and as `alertctl
 * receive` does (out_acked_by): a name as the relay writes them (1 to
 * OUT_ACKED_BY_MAX bytes, "NAME (alias)" the longest) without a control
 * character or a bidi override, else "?".  The body stays stored as received.
 */
const char *console_notice_relay_by(const json_t *body);
/* Logs (within a budget, without its content) that an incoming
 * alert.acknowledged's acknowledged_by is no such name. */
void console_notice_check_by(const struct hook_body *b);

/* console_notice_sql.c: 1 when the notice body of type (alert.cancelled
 * or alert.acknowledged) takes the alert whose first row's body is
 * alert_body from the operators, checked with k as the page checks it
 * (console_notice_apply): a cancel signed by the alert's own device (a
 * cancel another enrolled device signed for this alert id, held by a
 * hostile relay, is only the relay's word) and not under duress, an
 * acknowledgement a recipient signed for the alert's envelope (its
 * signer into name, namelen bytes, when name is not NULL); else 0.
 * The one check behind notice_signed and console_notice_kind. */
int console_notice_signed(struct hook_keys *k, const char *type,
    const json_t *body, const json_t *alert_body, char *name, size_t namelen);

/* console_notice_sql.c: registers the SQL function notice_signed(id,
 * recipient_id, type, body, alert_body) on c's database: 1 for the
 * stored notice (webhook row id) that takes the alert whose first row's
 * body is alert_body as the page has it (a signed acknowledgement of its
 * envelope, a cancel its own device signed), each verdict kept while the
 * recipient's keys stay the same; the metrics and the queue's bound
 * count by it (CONSOLE_DB_WAITING); 0 or -1. */
int console_notice_sql(struct console *c);

#endif
