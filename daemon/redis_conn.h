/*
 * One asynchronous hiredis connection on the event loop, with reconnect
 * and backoff, and a deadline on every command.  alertrelayd keeps two:
 * one for ordinary commands and one for the dispatcher's blocking reads,
 * so a blocking XREADGROUP never holds up an alert being stored (and a
 * third, subscribed to receipts; with min_replicas a fourth for WAIT).
 *
 * A connection is ready once Redis answered a PING, and stops being
 * ready as soon as a command's deadline passes unanswered: it is then
 * dropped, every command pending on it fails, and it connects again
 * (through Sentinel when configured), so a hung master is left.
 */
#ifndef ALERTRELAY_REDIS_CONN_H
#define ALERTRELAY_REDIS_CONN_H

#include <stddef.h>

#include <event2/event.h>
#include <hiredis.h>

struct redis_conn;
struct redis_req;

/* reply is NULL when the command failed: err says why (disconnected,
 * timed out, not connected).  An error reply from Redis arrives as a
 * REDIS_REPLY_ERROR. */
typedef void (*redis_reply_cb)(redisReply *reply, const char *err, void *arg);
typedef void (*redis_state_cb)(void *arg);

/* address: "127.0.0.1:6379", "[::1]:6379" or "unix:/path/redis.sock";
 * numeric only, since hiredis resolves names with a blocking call. */
int redis_address_valid(const char *address);

struct redis_conn *redis_conn_new(struct event_base *base, const char *address,
    const char *name, redis_state_cb on_ready, redis_state_cb on_lost,
    void *arg);
void redis_conn_start(struct redis_conn *rc);
/* Find the master through these sentinels on every (re)connect. */
void redis_conn_use_sentinels(struct redis_conn *rc, const char *sentinels,
    const char *master);
/* How long to wait to connect and be answered, and for each PING on a
 * subscriber connection (default 5 s). */
void redis_conn_set_timeout(struct redis_conn *rc, long timeout_ms);
/* Drop the connection and connect again (e.g. the master moved). */
void redis_conn_reconnect(struct redis_conn *rc);
int redis_conn_ready(const struct redis_conn *rc);
/* Whether it was just dropped because Redis stopped answering (a
 * command's deadline or a PING's passed); reading it clears it. */
int redis_conn_take_hung(struct redis_conn *rc);
/* Both are connected, to the same Redis: the same server (INFO's
 * run_id, taken at each connect) where both know it, else the same
 * address. */
int redis_conn_same_redis(const struct redis_conn *a,
    const struct redis_conn *b);
/* Drops rc now if it is connected where hung was: the same Redis. */
void redis_conn_leave(struct redis_conn *rc, const struct redis_conn *hung);
void redis_conn_free(struct redis_conn *rc);

/* Sends a command; cb is called exactly once, always from the event
 * loop (never before this returns), unless cancelled. */
struct redis_req *redis_conn_commandv(struct redis_conn *rc, long timeout_ms,
    redis_reply_cb cb, void *arg, int argc, const char **argv,
    const size_t *argvlen);
struct redis_req *redis_conn_command(struct redis_conn *rc, long timeout_ms,
    redis_reply_cb cb, void *arg, const char *fmt, ...);
/* Puts the connection in subscriber mode for channel, now and after
 * every reconnect; cb gets each message's payload. */
typedef void (*redis_message_cb)(const char *payload, size_t len, void *arg);
void redis_conn_subscribe(struct redis_conn *rc, const char *channel,
    redis_message_cb cb, void *arg);

/* The callback will not be called; the reply, if it comes, is dropped. */
void redis_req_cancel(struct redis_req *req);

/* Writes what is queued now, not at the next turn of the loop (for the
 * last commands before the loop ends). */
void redis_conn_flush(struct redis_conn *rc);

#endif
