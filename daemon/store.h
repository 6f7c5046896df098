/*
 * The relay's data in Redis (docs/PROTOCOL.md and README describe it):
 *
 *   <prefix>:alerts          stream, one entry per accepted alert
 *   <prefix>:alert:<id>      hash: routing metadata, envelope hash,
 *                            ct:<recipient> ciphertexts,
 *                            delivered:<recipient> timestamps
 *   <prefix>:deliveries      stream, one entry per delivery to make,
 *                            consumed by the group "dispatch"
 *
 * Accepting an alert is one Lua script, so the alert and all its
 * deliveries become durable together or not at all.
 */
#ifndef ALERTRELAY_STORE_H
#define ALERTRELAY_STORE_H

#include <stddef.h>

#include <event2/event.h>

#include "envelope.h"
#include "relay_config.h"
#include "util.h"

#define STORE_ID_MAX 48 /* Redis stream ids: "1700000000000-0" */
#define STORE_GROUP "dispatch"

struct store;
struct store_req; /* a cancelable request */

struct store_callbacks {
	void (*ready)(void *arg); /* both connections up */
	void (*lost)(void *arg); /* Redis went away */
	void *arg;
};

struct store *store_new(struct event_base *base, const struct relay_config *cfg,
    const struct store_callbacks *cbs);
void store_start(struct store *st);
int store_ready(const struct store *st);
void store_free(struct store *st);
void store_req_cancel(struct store_req *req);

/* --- accepting alerts --- */

enum ingest_result {
	INGEST_NEW,
	INGEST_DUPLICATE,
	INGEST_CONFLICT,
	INGEST_UNAVAILABLE,
};

struct ingest_reply {
	enum ingest_result result;
	char relay_id[STORE_ID_MAX];
	char received_at[RFC3339_LEN];
	const char *error; /* with INGEST_UNAVAILABLE */
};

typedef void (*store_ingest_cb)(const struct ingest_reply *reply, void *arg);

/* deliver_to: the recipients with a channel, one delivery each. */
struct store_req *store_ingest(struct store *st, const struct envelope *env,
    const char *envelope_hash, const char *const *deliver_to, size_t ndeliver,
    store_ingest_cb cb, void *arg);

/* --- deliveries --- */

struct delivery_entry {
	char stream_id[STORE_ID_MAX];
	char alert_id[33];
	char recipient_id[ID_MAX + 1];
	char event[32];
	int valid; /* 0: the entry was deleted or malformed; ack it */
};

/* entries is NULL with n == 0 on timeout (nothing new); err on failure. */
typedef void (*store_read_cb)(struct delivery_entry *entries, size_t n,
    const char *err, void *arg);
/* from: "0" (or a later id) reads this instance's pending deliveries,
 * ">" new ones, waiting up to block_ms. */
struct store_req *store_read_deliveries(struct store *st, const char *from,
    long count, long block_ms, store_read_cb cb, void *arg);

struct alert_meta {
	char device_id[ID_MAX + 1];
	char alert_type[16];
	char created_at[RFC3339_LEN];
	char received_at[RFC3339_LEN];
	char *ciphertext; /* for the recipient asked for; NULL if none */
	int delivered; /* already delivered to this recipient */
	int exists;
};
typedef void (
    *store_meta_cb)(struct alert_meta *meta, const char *err, void *arg);
struct store_req *store_alert_meta(struct store *st, const char *alert_id,
    const char *recipient_id, store_meta_cb cb, void *arg);

typedef void (*store_done_cb)(const char *err, void *arg);
/* Marks delivered, acknowledges and deletes the delivery entry. */
struct store_req *store_delivery_done(struct store *st, const char *stream_id,
    const char *alert_id, const char *recipient_id, store_done_cb cb,
    void *arg);

/* Acknowledges and deletes a delivery that cannot be made. */
struct store_req *store_delivery_drop(struct store *st, const char *stream_id,
    store_done_cb cb, void *arg);

/* Deliveries not yet completed (all instances) and the acceptance time
 * of the oldest, in ms since the epoch (0 when there is none). */
typedef void (*store_queue_cb)(long long depth, long long oldest_ms,
    const char *err, void *arg);
struct store_req *store_queue_summary(struct store *st, store_queue_cb cb,
    void *arg);

#endif
