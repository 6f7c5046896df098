/*
 * Alerts this relay has just accepted, kept a moment in memory so that
 * the first attempt of each of their first-tier notifications is made
 * with what the relay already knows of the alert, instead of reading it
 * back from Redis (script_meta): one Redis round trip and one Lua script
 * fewer between a press and the webhook.  A retry, a later tier, an
 * alert accepted by another instance or one older than FRESH_TTL_MS
 * reads Redis as before.
 *
 * The ingest script's answer and the dispatcher's read of the new
 * deliveries come back from Redis in the same turn of its loop, in either
 * order: a delivery read before the answer is parked here and released
 * by it (with the alert, or without it when the answer was not "new").
 */
#ifndef ALERTRELAY_DISPATCH_FRESH_H
#define ALERTRELAY_DISPATCH_FRESH_H

#include <stdint.h>

#include <jansson.h>

#define FRESH_TTL_MS 2000 /* after that, Redis is asked */
#define FRESH_MAX 2048 /* alerts kept; beyond, Redis is asked */

struct fresh_alerts;

/* A parked delivery goes on: meta is what script_meta would have said
 * for it (a new reference, the callee's), or NULL to read Redis. */
typedef void (
    *fresh_release_cb)(const char *stream_id, json_t *meta, void *arg);

enum fresh_state {
	FRESH_NONE, /* not known here: read Redis */
	FRESH_PENDING, /* accepted here, Redis's answer not yet in */
	FRESH_READY, /* *meta set */
};

struct fresh_alerts *fresh_new(fresh_release_cb release, void *arg);
void fresh_free(struct fresh_alerts *f);

/* The ingest script is on its way for this alert. */
void fresh_expect(struct fresh_alerts *f, const char *alert_id);
/* Its answer: base is the alert as script_meta gives it, without the
 * recipient's ciphertext, cts those by recipient id; both NULL when the
 * alert was not stored as new.  Releases what was parked. */
void fresh_ready(struct fresh_alerts *f, const char *alert_id, json_t *base,
    json_t *cts);
/* For the first attempt of a first-tier notification. */
enum fresh_state fresh_lookup(struct fresh_alerts *f, const char *alert_id,
    const char *recipient_id, json_t **meta);
void fresh_park(struct fresh_alerts *f, const char *alert_id,
    const char *stream_id, const char *recipient_id);
/* The alert changed here (cancelled, acknowledged, duress): Redis is
 * asked from now on. */
void fresh_forget(struct fresh_alerts *f, const char *alert_id);
/* Entries older than FRESH_TTL_MS go (parked ones to Redis). */
void fresh_expire(struct fresh_alerts *f, int64_t now_ms);

#endif
