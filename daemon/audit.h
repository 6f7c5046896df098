/*
 * The relay's audit log (common/audit_record.h for one record): every
 * security-relevant event as a hash-chained record, one chain per relay
 * instance, in the Redis stream P:audit:INSTANCE and, with [audit] file,
 * in a local append-only file.  Every [audit] sign_every records, and
 * when the relay stops, the head is signed with [audit] key_file.
 *
 * audit_log() never blocks the loop: a record is chained at once (or,
 * until the chain's head is read from Redis, kept in order), sent to
 * Redis in batches on the command connection and handed to the file's
 * writer thread (audit_file.h).
 */
#ifndef ALERTRELAY_AUDIT_H
#define ALERTRELAY_AUDIT_H

#include <stdio.h>

struct relay;
struct audit;

/* Loads the key and opens the file (before privileges are dropped);
 * NULL with a logged reason on failure. */
/* worker: the worker whose chain this is (workers.h), 0 without. */
struct audit *audit_new(struct relay *relay, int worker);
/* Redis (re)connected: read the head once, then send what waits. */
void audit_store_ready(struct audit *a);
/* The relay stops: a record says so and the head is signed. */
void audit_stop(struct audit *a);
/* After audit_stop(): done(arg) once Redis has confirmed every record
 * made (its head read first if it was not yet), or at once while Redis
 * is away; the caller bounds the wait.  The loop goes on meanwhile. */
void audit_drain(struct audit *a, void (*done)(void *), void *arg);
/* Waits for the file's writer; what Redis has not confirmed is lost. */
void audit_free(struct audit *a);

/* One event.  Any of the strings may be NULL (""); none may hold alert
 * content or a secret.  result: "ok", "refused" or "failed". */
void audit_log(struct audit *a, const char *action, const char *object,
    const char *result, const char *address, const char *channel,
    const char *actor, const char *reason);

/* The same through the relay, for the hooks in other files: nothing
 * while the relay has no audit log yet. */
void audit_relay(struct relay *relay, const char *action, const char *object,
    const char *result, const char *address, const char *channel,
    const char *actor, const char *reason);

struct relay_config;
/* The key of [audit] key_file can be read and is secret: 0, or -1 with
 * the problem written to errout (at start and by -t only: once
 * privileges are dropped the relay may not read it again). */
int audit_config_check(const struct relay_config *cfg, FILE *errout);
/* After a reload: devices revoked or removed by it (audit_config.c). */
void audit_config_changes(struct relay *relay, const struct relay_config *old,
    const struct relay_config *next);

#endif
