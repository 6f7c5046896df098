/*
 * Cancel v2 (docs/PROTOCOL.md): a cancel behind the device's PIN, with a
 * signed duress flag.  A real one cancels as v1 does; a duress one
 * answers the device exactly as a real one would, keeps the alert open,
 * sends alert.duress to every recipient of every tier at once and
 * keeps escalating it, while the device's view of the alert (receipts,
 * status, list) stays that of a cancelled alert.  Both take the same
 * steps (two store round trips), so that the answer's timing is alike.
 */
#ifndef ALERTRELAY_DURESS_H
#define ALERTRELAY_DURESS_H

#include <stdint.h>

#include <jansson.h>

struct conn;
struct relay_config;
struct policy;

/* The duress flag of a v2 cancel (already verified): 0 or 1, -1 when
 * malformed (no "v":2, no 0/1 "duress"). */
int duress_flag(const json_t *cancel);
/* Cancels c->req_alert_id of c->device_id, real or under duress. */
void duress_cancel(struct conn *c, int duress);
/* What escalation counts its tiers from: the alert's arrival, or for an
 * alert cancelled under duress (brief has duress_ms) a time such that
 * the last tier repeats every `repeat` from the duress on. */
int64_t duress_base_ms(const struct policy *p, const json_t *brief,
    int64_t received_ms);
/* The notifications of every tier of p at once, each recipient and
 * channel once ([[rid, channel], ...]). */
json_t *duress_deliveries(const struct relay_config *cfg,
    const struct policy *p, const char *recipients, int drill);

#endif
