/*
 * The Lua scripts that change alerts in Redis (store_scripts.c: the
 * alert's life; store_delivery_scripts.c: its notifications).  Each runs
 * atomically, takes one JSON argument (ARGV[1], decoded with cjson; "p" is the
 * key prefix, added by store_eval()) and returns one JSON document.
 *
 * Keys, with P the prefix and A an alert id:
 *   P:alert:A     hash: routing metadata, state, ref, policy, tier, timer,
 *                 ct:<rid> ciphertexts, delivered:<rid>, d:<delivery id>,
 *                 gb:<delivery id> (ms it was first given back by a
 *                 relay behind on the directory, script_give_back),
 *                 unreached@<rid|channel> (after a duress cancel: one
 *                 reached since, as its device's status still shows it),
 *                 shown (after a check-in's done too late under duress:
 *                 the state its device sees, as the own PIN would have
 *                 it: open, then acknowledged, expired or cancelled)
 *   P:events:A    list of the alert's events (JSON), oldest first
 *   P:notified:A  set of "rid|channel" that were reached
 *   P:ref:REF     the alert a short reference stands for
 *   P:device:D    sorted set of a device's alerts by arrival
 *   P:timers      sorted set "A|tier" and "A|x" (expiry) by due time (ms)
 *   P:alerts      stream of accepted alerts
 *   P:deliveries  stream of notifications to make (group "dispatch")
 *   P:deadletter  stream of notifications given up
 *   P:unreached:A hash "rid|channel" -> JSON: who an alarm has not
 *                 reached (retrying, or given up), until it goes through
 *   P:open:TYPE   sorted set of open alerts of that type by arrival (ms);
 *                 P:open:drill holds the open drills, of any type
 *   P:lastsms:R   "1" when the last alarm SMS to recipient R was a drill
 *                 (its hint SMS says so too), else "0"; a week
 *   P:duress_events:A  the events of an alert after its cancel, duress
 *                 or real (the name is older than the real case; never
 *                 to the device, so that the two look alike to it)
 *   P:receipts    pub/sub channel of events, for the devices
 *   P:directory_version  highest signed directory version run with
 *   P:alive:I, P:alive  which relays run, with which directory (alive.h)
 *   P:report:A    hash rid -> JSON {c, u, event, tier}: the credential an
 *                 SMS's delivery report must carry and until when (ms)
 *                 it is taken (sms_report.h); TTL sms_report_timeout.
 *                 P:alert:A's smsreport:<rid> says what the last SMS's
 *                 report was (cleared when the next one goes out) and
 *                 smsfailed:<rid> when the first "not delivered" came
 *                 (the next tier is brought forward once per recipient)
 */
#ifndef ALERTRELAY_STORE_SCRIPTS_H
#define ALERTRELAY_STORE_SCRIPTS_H

extern const char script_ingest[];
extern const char script_fire[];
extern const char script_brief[];
extern const char script_timer_drop[];
extern const char script_meta[];
/* A notification left by a relay behind on the directory (delivery.c). */
extern const char script_give_back[];
extern const char script_taken_back[];
extern const char script_done[];
extern const char script_unreached[];
/* Recipients that cannot be reached at all, marked at once
 * (checkin_unsealed.h). */
extern const char script_unreached_all[];
extern const char script_fail[];
extern const char script_drop[];
extern const char script_ack[];
extern const char script_cancel[];
extern const char script_duress[];
/* A later position of an open alert (location.h). */
extern const char script_location[];
extern const char script_status[];
extern const char script_list[];
extern const char script_queue[];
extern const char script_deadletter_list[];
extern const char script_deadletter_replay[];
extern const char script_directory[];
extern const char script_lastsms[];
extern const char script_report_wait[];
extern const char script_report_get[];
extern const char script_report[];

#endif
