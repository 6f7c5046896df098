/*
 * Counters and gauges for GET /metrics (Prometheus text format 0.0.4).
 * One global set, bumped by the modules where things happen; reading
 * them costs nothing on the alert path.
 */
#ifndef ALERTRELAY_METRICS_H
#define ALERTRELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "refuse_log.h"

/* Why an alert or a connection was refused: the protocol's error codes. */
enum refuse_reason {
	REFUSE_BAD_FRAME,
	REFUSE_FRAME_TOO_LARGE,
	REFUSE_TIMEOUT,
	REFUSE_NOT_AUTHENTICATED,
	REFUSE_UNKNOWN_DEVICE,
	REFUSE_AUTH_FAILED,
	REFUSE_BAD_SIGNATURE,
	REFUSE_BAD_ENVELOPE,
	REFUSE_UNKNOWN_RECIPIENT,
	REFUSE_CONFLICT,
	REFUSE_UNAVAILABLE,
	REFUSE_BUSY,
	REFUSE_RATE_LIMITED,
	REFUSE_STALE,
	REFUSE_DIRECTORY_PENDING,
	REFUSE_TOO_MANY_REFUSALS,
	REFUSE_NREASONS
};

/* ok: went through; retry: an attempt failed; failed: max_attempts
 * failed in a row (or it cannot be sent at all), counted once per
 * notification; dropped: no longer needed or impossible. */
enum delivery_result {
	DELIVERY_OK,
	DELIVERY_RETRY,
	DELIVERY_FAILED,
	DELIVERY_DROPPED,
	DELIVERY_NRESULTS
};

/* The listeners, and why one turned a connection away (refusal.h). */
enum listener_kind {
	LISTENER_DEVICE,
	LISTENER_ACK,
	LISTENER_ACK_PLAIN,
	LISTENER_ADMIN,
	LISTENER_NKINDS
};

/* enum conn_refuse: common/refuse_log.h. */
enum delivery_channel { CHANNEL_WEBHOOK, CHANNEL_SMS, CHANNEL_N };

/* The alert types, as the protocol names them, for per-type gauges. */
#define ALERT_TYPES_N 4
extern const char *const metrics_alert_types[ALERT_TYPES_N];

#define LATENCY_NBUCKETS 14

struct metrics {
	uint64_t alerts_received;
	uint64_t alerts_accepted;
	uint64_t alerts_duplicate;
	uint64_t refused[REFUSE_NREASONS];
	uint64_t deliveries[CHANNEL_N][DELIVERY_NRESULTS];
	/* Drills, counted apart so that no production alert (rule) sees
	 * them: alertrelay_drill_*. */
	uint64_t drills_accepted;
	uint64_t drill_deliveries[CHANNEL_N][DELIVERY_NRESULTS];
	uint64_t drill_acknowledgements;
	uint64_t deadletters; /* written to the dead-letter stream */
	uint64_t latency_buckets[LATENCY_NBUCKETS]; /* cumulative on output */
	uint64_t latency_count;
	double latency_sum;
	uint64_t ack_buckets[LATENCY_NBUCKETS];
	uint64_t ack_count;
	double ack_sum;
	uint64_t escalations;
	uint64_t duress_repeats; /* duress.h: not counted as escalations */
	uint64_t
	    deliveries_fresh; /* made without script_meta (dispatch_fresh.h) */
	uint64_t deliveries_released; /* left in Redis to wait (dispatch.c) */
	uint64_t audit_dropped; /* audit records Redis never got (audit.c) */
	uint64_t audit_refused; /* numbers another writer had (audit.c) */
	uint64_t checkins_missed; /* prepared alerts raised (checkin.h) */
	uint64_t checkins_unsealed; /* raised for nobody (checkin_unsealed.h) */
	uint64_t location_updates; /* accepted (location.h) */
	uint64_t cancel_repeats; /* of a closed alert (conn_cancel.c) */
	uint64_t devices_offline_events; /* supervise.h */
	uint64_t devices_online_events;
	uint64_t acknowledgements;
	uint64_t ack_repeats; /* by the same recipient, counted only */
	uint64_t tls_handshakes_ok;
	uint64_t tls_handshakes_failed;
	uint64_t connections_refused_limit;
	uint64_t slow_readers_closed; /* output above the bound too long */
	uint64_t unauth_evicted; /* closed for a newcomer (conn_unauth.h) */
	uint64_t sessions_superseded; /* max_sessions_per_device reached */
	uint64_t conn_refused[LISTENER_NKINDS][CONN_REFUSE_NREASONS];
	/* gauges, set by their owners */
	uint64_t connections;
	uint64_t devices_connected;
	uint64_t deliveries_inflight;
	uint64_t deliveries_retrying; /* of those, failed once (dispatch.c) */
	uint64_t queue_depth; /* pending in the group, all instances */
	double oldest_pending_seconds;
	int redis_up;
	uint64_t spool_bytes;
	uint64_t spool_refused; /* held: Redis has another with its id */
	/* from Redis, all instances; -1 until first read */
	double deadletter_entries;
	double alerts_open[ALERT_TYPES_N];
	double unacked_seconds[ALERT_TYPES_N];
	double drills_open, drill_unacked_seconds;
};

extern struct metrics metrics;

/* The refusal reason for a protocol error code, or -1. */
int metrics_reason(const char *code);
void metrics_refused(const char *code);
void metrics_delivery(const char *channel, int drill, enum delivery_result r);
void metrics_delivery_latency(double seconds);
void metrics_time_to_ack(double seconds); /* first acknowledgements */
const char *metrics_listener_name(enum listener_kind kind);
/* Appends the whole exposition to out. */
void metrics_render(struct evbuffer *out);

#endif
