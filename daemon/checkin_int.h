/*
 * What the check-in files share (checkin_conn.c: the device's requests;
 * checkin_reply.c: their outcome; checkin_timer.c: reminders and
 * releases).  Private to them.
 */
#ifndef ALERTRELAY_CHECKIN_INT_H
#define ALERTRELAY_CHECKIN_INT_H

#include <jansson.h>

struct checkin;
struct conn;
struct conn_job;

/* 1 when the device may make one more check-in request now. */
int checkin_limit_take(struct checkin *ck, const char *device_id);

/* checkin_reply.c: runs script with args (taken) for the check-in
 * request op that c's device sent (duress: with the duress PIN); what
 * it did is recorded whether or not c stays, and answered on c while it
 * does. */
void checkin_reply_run(struct conn *c, const char *checkin_id, const char *op,
    int duress, const char *script, json_t *args);

/* checkin_duress.c: op (done, extend) of check-in who->id came with the
 * duress PIN after a relay raised its alarm, alert_id: that alarm made
 * a duress alarm, as by a duress cancel, with no word to the device. */
void checkin_duress_late(const struct conn_job *who, const char *op,
    const char *alert_id);

#endif
