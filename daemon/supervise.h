/*
 * Supervision of a device's path (EN 50136-1 style; docs/PROTOCOL.md,
 * "Supervision"): a device declares an interval on its connection; every
 * frame from it moves its offline deadline (interval plus [supervision]
 * grace) on in Redis.  When a deadline passes, one instance claims it
 * atomically and sends device.offline to the recipients to notify; the
 * next frame from the device sends device.online.  Both are notices
 * through the dispatcher, so they are retried and dead-lettered like
 * any.
 */
#ifndef ALERTRELAY_SUPERVISE_H
#define ALERTRELAY_SUPERVISE_H

#include <jansson.h>

struct relay;
struct conn;
struct supervise;
struct supervise_link;

struct supervise *supervise_new(struct relay *relay);
void supervise_free(struct supervise *s);
/* Redis is (again) ready: the connections held here are alive, so their
 * deadlines are written now, and no device is declared offline for a
 * moment, so that an outage of Redis does not look like one of every
 * device. */
void supervise_resume(struct supervise *s);
/* The relay stops: no device is declared offline from now on but the
 * one under way, which the stop waits for (stopjobs.h). */
void supervise_pause(struct supervise *s);
/* 1 when this device may make one more "supervise" request now. */
int supervise_limit_take(struct supervise *s, const char *device_id);

/* The recipients of device events, as a JSON array of ids: [supervision]
 * notify, else the webhook recipients of the panic policy's first tier. */
json_t *supervise_notify(const struct relay *relay);
/* The arguments every event script takes: eid, now, notify, ttl (of
 * the event's record) and keep (of the device's supervision record). */
json_t *supervise_event_args(const struct relay *relay);

/* supervise_conn.c: the "supervise" frame, every later frame of a
 * supervised connection, and its end. */
void supervise_conn_request(struct conn *c, const json_t *o);
void supervise_conn_seen(struct conn *c);
void supervise_conn_free(struct supervise_link *l);
/* Every supervised connection of this instance writes its deadline at
 * its next chance, which is now. */
void supervise_conn_refresh_all(struct relay *relay);

#endif
