/*
 * The dispatcher: takes deliveries from the Redis consumer group and
 * makes them, retrying with backoff until the endpoint answers 2xx.  A
 * delivery is acknowledged in the group only once it succeeded, so one
 * that was in flight when the daemon died is picked up again at start.
 */
#ifndef ALERTRELAY_DISPATCH_H
#define ALERTRELAY_DISPATCH_H

#include <stddef.h>

#include <jansson.h>

#include "store.h"

struct relay;
struct dispatch;

struct dispatch *dispatch_new(struct relay *relay);
void dispatch_start(struct dispatch *d); /* Redis is (again) ready */
void dispatch_pause(struct dispatch *d); /* Redis went away */
size_t dispatch_inflight(const struct dispatch *d);

/* A delivery that does not come from Redis (the local spool): meta is
 * what script_meta would have said; done is called once with what became
 * of it instead of recording anything in Redis.  LOCAL_QUEUED: an SMS
 * gateway keeps it until its link is back (sms_gateway.h), so it must
 * not be sent again. */
enum local_result { LOCAL_FAILED, LOCAL_DONE, LOCAL_QUEUED };
typedef void (*dispatch_local_cb)(const struct delivery_entry *e,
    enum local_result res, void *arg);
void dispatch_add_local(struct dispatch *d, const struct delivery_entry *e,
    json_t *meta, dispatch_local_cb done, void *arg);
/* An alert accepted here (dispatch_fresh.h): its ingest script is on its
 * way; its answer (base and cts NULL unless stored as new); the alert
 * changed here, so Redis is to be read from now on. */
void dispatch_fresh_expect(struct dispatch *d, const char *alert_id);
void dispatch_fresh_ready(struct dispatch *d, const char *alert_id,
    json_t *base, json_t *cts);
void dispatch_fresh_forget(struct dispatch *d, const char *alert_id);
/* Shutdown: takes nothing new, hands back (leaves pending in Redis)
 * what waits for a retry, lets what is in flight finish, then calls
 * drained once. */
void dispatch_drain(struct dispatch *d, void (*drained)(void *), void *arg);
void dispatch_free(struct dispatch *d);

#endif
