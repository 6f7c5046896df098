/*
 * Check-in timers (docs/PROTOCOL.md, "Check-in timers"): a device starts
 * a timer with an alert it prepared, signed and sealed to its recipients
 * (alert_type missed_checkin); unless the device checks in ("done") or
 * moves the deadline ("extend") in time, the relay releases that alert
 * at the deadline plus grace through the normal escalation, whether or
 * not the device still exists.  The relay cannot read the alert: it
 * stores the envelope as it stores any.  Timers live in Redis
 * (checkin_scripts.h); any instance fires them, once.
 */
#ifndef ALERTRELAY_CHECKIN_H
#define ALERTRELAY_CHECKIN_H

#include <jansson.h>

struct relay;
struct conn;
struct checkin;

/* The timers' poller and the per-device limit, for the relay's life. */
struct checkin *checkin_new(struct relay *relay);
void checkin_free(struct checkin *ck);
/* The relay stops: no timer is taken up from now on; the one under way
 * (its claim, its alert being stored) goes on, and the stop waits for
 * it (stopjobs.h).  The others are raised by another instance or at the
 * next start. */
void checkin_pause(struct checkin *ck);
/* New limits after a reload. */
void checkin_reconfigure(struct checkin *ck);

/* checkin_conn.c: a "checkin" frame from an authenticated device. */
void checkin_conn_request(struct conn *c, const json_t *o);

#endif
