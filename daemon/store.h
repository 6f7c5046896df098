/*
 * The relay's data in Redis.  Every change to an alert is one Lua script
 * (store_scripts.c, which also lists the keys), run atomically, so an
 * alert and its notifications, timers and events change together or not
 * at all.  This file holds the connections: one for commands, one for
 * the dispatcher's blocking reads, one subscribed to receipts, and with
 * min_replicas one for WAIT.
 */
#ifndef ALERTRELAY_STORE_H
#define ALERTRELAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "relay_config.h"
#include "util.h"

#define STORE_ID_MAX 48 /* Redis stream ids: "1700000000000-0" */
#define STORE_GROUP "dispatch"

struct store;
struct store_req; /* a cancelable request */

struct store_callbacks {
	void (*ready)(void *arg); /* command and dispatch connections up */
	void (*lost)(void *arg); /* Redis went away */
	void *arg;
};

struct store *store_new(struct event_base *base, const struct relay_config *cfg,
    const struct store_callbacks *cbs);
void store_start(struct store *st);
int store_ready(const struct store *st);
void store_free(struct store *st);
void store_req_cancel(struct store_req *req);

/* Runs a script of store_scripts.h with args (taken over; "p" is added).
 * reply is the script's JSON answer, borrowed for the call, or NULL
 * with err set. */
typedef void (*store_json_cb)(json_t *reply, const char *err, void *arg);
struct store_req *store_eval(struct store *st, const char *script, json_t *args,
    store_json_cb cb, void *arg);

/* As store_eval(), but with n > 0 the answer comes once n replicas have
 * what the script wrote (store_wait_replicas()).  If they do not within
 * timeout_ms, reply is still the script's (the master did it) and err
 * is set too: not durable, a failover may undo it.  The caller records
 * what was done and answers "try again"; the retry's WAIT, once it
 * succeeds, covers this write too.  A reply whose "r" is one of at_once
 * (NULL-terminated, static; or NULL) is a refusal that wrote nothing
 * and told nobody of a state another request may have left unconfirmed:
 * it comes at once, without WAIT. */
struct store_req *store_eval_replicated(struct store *st, const char *script,
    json_t *args, long n, long timeout_ms, const char *const *at_once,
    store_json_cb cb, void *arg);

/* The retention periods ({"history": s, "sms_refs": s}, taken over) that
 * store_eval() adds to every script's argument as "rt", for the scripts
 * that close an alert (retention.h). */
void store_set_retention(struct store *st, json_t *rt);

/* Sends what is queued on the command connection at once. */
void store_flush(struct store *st);

/* WAIT: the writes made so far on the command connection reached n
 * replicas within timeout_ms (ok), or did not.  Call it from the answer
 * to the write: sent on a connection of its own (store_wait.h), it
 * holds up no other command. */
typedef void (*store_wait_cb)(int ok, const char *err, void *arg);
struct store_req *store_wait_replicas(struct store *st, long n, long timeout_ms,
    store_wait_cb cb, void *arg);

/* --- deliveries --- */

struct delivery_entry {
	char stream_id[STORE_ID_MAX];
	char alert_id[33];
	char recipient_id[ID_MAX + 1];
	char channel[16]; /* "webhook" or "sms" */
	char event[32]; /* alert.raised, alert.escalated, ... */
	char tier[8]; /* "0", "1", ...; "-1" for follow-ups */
	int replay; /* put back from the dead letters by an operator */
	int valid; /* 0: deleted or malformed; drop it */
};

/* entries is NULL with n == 0 on timeout (nothing new); err on failure. */
typedef void (*store_read_cb)(struct delivery_entry *entries, size_t n,
    const char *err, void *arg);
/* from: "0" (or a later id) reads this instance's pending deliveries,
 * ">" new ones, waiting up to block_ms. */
struct store_req *store_read_deliveries(struct store *st, const char *from,
    long count, long block_ms, store_read_cb cb, void *arg);

/* Takes over deliveries any instance (this one too) took but has not
 * touched for min_idle_ms (it died, or left them in Redis), up to count,
 * scanning the pending list from start ("0-0").  Redis looks at no more
 * than count * 10 pending entries a call: next is where the following
 * call goes on, "0-0" once the scan came round; NULL with err. */
typedef void (*store_claim_cb)(struct delivery_entry *entries, size_t n,
    const char *next, const char *err, void *arg);
struct store_req *store_claim_stale(struct store *st, const char *start,
    long min_idle_ms, long count, store_claim_cb cb, void *arg);
/* Marks deliveries this instance is still working on as alive, so no
 * other instance takes them over. */
void store_touch(struct store *st, const char *const *ids, size_t n);
/* Gives delivery id (of alert_id) back to the group as if idle for
 * idle_ms: the next claim round of any instance takes it (delivery.c, a
 * relay behind on the directory); the first time, or with restart (a
 * relay with the newer directory runs: the bound starts again), now_ms
 * is kept as when (script_give_back). */
void store_give_back(struct store *st, const char *id, const char *alert_id,
    long idle_ms, int64_t now_ms, int restart);
/* Forgets that delivery id was given back: a relay that knows its
 * recipient has it (script_taken_back). */
void store_taken_back(struct store *st, const char *id, const char *alert_id);

/* --- timers --- */

/* Members ("alert_id|tier" or "alert_id|x") due at now_ms. */
typedef void (
    *store_due_cb)(char **members, size_t n, const char *err, void *arg);
struct store_req *store_due_timers(struct store *st, int64_t now_ms, long count,
    store_due_cb cb, void *arg);

/* --- receipts --- */

/* Every event published by any instance (JSON: device_id, alert_id,
 * receipt). */
typedef void (*store_receipt_cb)(const char *payload, size_t len, void *arg);
void store_subscribe_receipts(struct store *st, store_receipt_cb cb, void *arg);

#endif
