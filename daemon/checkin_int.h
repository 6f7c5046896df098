/*
 * What the check-in files share (checkin_conn.c: the device's requests;
 * checkin_timer.c: reminders and releases).  Private to them.
 */
#ifndef ALERTRELAY_CHECKIN_INT_H
#define ALERTRELAY_CHECKIN_INT_H

struct checkin;

/* 1 when the device may make one more check-in request now. */
int checkin_limit_take(struct checkin *ck, const char *device_id);

#endif
