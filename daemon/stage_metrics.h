/*
 * Where an alert's time goes inside the relay: one Prometheus histogram
 * per stage, alertrelay_stage_seconds{stage=...} (make bench prints the
 * median and p99 of each).  A stamp is one clock_gettime(CLOCK_MONOTONIC);
 * nothing is allocated on the alert path.
 */
#ifndef ALERTRELAY_STAGE_METRICS_H
#define ALERTRELAY_STAGE_METRICS_H

#include <stdint.h>

#include <event2/buffer.h>

enum stage {
	STAGE_VERIFY, /* alert frame read -> signature verified, decoded */
	STAGE_STORE, /* script sent -> Redis answered (fsync included) */
	STAGE_REPLY, /* Redis answered -> "accepted" handed to TLS */
	STAGE_DISPATCH_READ, /* Redis answered -> delivery read back */
	STAGE_WEBHOOK_SENT, /* delivery read -> webhook handed to curl */
	STAGE_WEBHOOK_2XX, /* handed to curl -> 2xx answer received */
	STAGE_N
};

/* The monotonic clock in nanoseconds: a stage's start. */
int64_t stage_now(void);
/* Observes now - since in the stage's histogram (since 0: nothing);
 * returns now, the next stage's start. */
int64_t stage_observe(enum stage s, int64_t since);
/* The store's answer for an alert, and the dispatcher reading one of its
 * deliveries: the time between them is STAGE_DISPATCH_READ.  A small
 * table by alert_id (no allocation); a delivery read first counts 0. */
void stage_answered(const char *alert_id, int64_t now);
void stage_delivery_read(const char *alert_id);
void stage_metrics_render(struct evbuffer *out);

#endif
