/*
 * The Lua scripts of check-in timers and of device supervision, like
 * store_scripts.h: each runs atomically on one JSON argument and answers
 * one JSON document.
 *
 * Keys, with P the prefix, C a check-in id and D a device id:
 *   P:checkin:C         hash: dev, alert_id, envelope (base64 of the
 *                       prepared, sealed envelope: ciphertexts only),
 *                       sig, deadline, release_at, *_ms, state (active,
 *                       releasing, released, done), hash, duress and
 *                       duress_at (ended or extended under duress); a TTL
 *   P:checkin_device:D  the device's active check-in (one at a time)
 *   P:checkin_timers    sorted set "C|r" (reminder) and "C|x" (release)
 *                       by due time (ms)
 *   P:supervised        sorted set of supervised devices by the time
 *                       (ms) they count as offline without news
 *   P:supervise:D       hash: interval, state (online, offline),
 *                       last_seen, since; a TTL of 90 days from its last
 *                       change (a.keep), so that a device offline for
 *                       long still gets its device.online
 *   P:alert:E           the record of one device.offline/online or
 *                       device.checkin_failed event (E: 32 hex), for
 *                       the dispatcher; a TTL of a week (a.ttl)
 */
#ifndef ALERTRELAY_CHECKIN_SCRIPTS_H
#define ALERTRELAY_CHECKIN_SCRIPTS_H

extern const char script_due[];
extern const char script_checkin_start[];
extern const char script_checkin_extend[];
extern const char script_checkin_done[];
extern const char script_checkin_duress[];
extern const char script_checkin_claim[];
extern const char script_checkin_defer[];
extern const char script_checkin_released[];
extern const char script_checkin_remind[];
extern const char script_checkin_unsealed[];
extern const char script_supervise_seen[];
extern const char script_supervise_stop[];
extern const char script_supervise_offline[];

#endif
