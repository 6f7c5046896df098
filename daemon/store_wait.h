/*
 * WAIT for replicas on a Redis connection of its own (store.h's
 * store_wait_replicas): a WAIT blocks the connection it is sent on for
 * up to its timeout, and on the commands connection every command queued
 * behind it would wait too, and outlive its deadline, and make the relay
 * drop every connection to a master that is healthy (a replica that is
 * slow or gone is enough).
 *
 * Redis counts, for WAIT, the writes its own connection made: this one
 * first PUBLISHes (replicated like a write, stored nowhere), so its WAIT
 * covers every write the master had taken by then, those made on the
 * commands connection included.  That holds only while both are
 * connected to the same master, which is checked.  One WAIT is out at a
 * time; the requests that come meanwhile share the next one.
 */
#ifndef ALERTRELAY_STORE_WAIT_H
#define ALERTRELAY_STORE_WAIT_H

#include <event2/event.h>

#include "redis_conn.h"

struct store_waits;
struct store_waiter;

/* ok: the writes the master had taken when this was called reached n
 * replicas within timeout_ms; else err says why. */
typedef void (*store_waiter_cb)(int ok, const char *err, void *arg);

/* The connection (conn, made and started by the caller, taken over)
 * publishes to channel before each WAIT. */
struct store_waits *store_waits_new(struct event_base *base,
    struct redis_conn *conn, const char *channel, long timeout_ms);
/* Its connection was lost: what waits fails. */
void store_waits_lost(struct store_waits *w);
void store_waits_free(struct store_waits *w);

/* For writes answered on cmd just now; cb is called from the loop,
 * never before this returns, unless cancelled. */
struct store_waiter *store_waits_add(struct store_waits *w,
    const struct redis_conn *cmd, long n, long timeout_ms, store_waiter_cb cb,
    void *arg);
void store_waiter_cancel(struct store_waiter *wr);

#endif
