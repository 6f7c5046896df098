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

struct conn_cancel;
struct relay_config;
struct policy;

/* The duress flag of a v2 cancel (already verified): 0 or 1, -1 when
 * malformed (no "v":2, no 0/1 "duress"). */
int duress_flag(const json_t *cancel);
/* Cancels k's alert of k's device, real or under duress
 * (conn_cancel.c), whether or not its device stays connected. */
void duress_cancel(struct conn_cancel *k, int duress);
/* The next repeat of a duress alarm after tier t fired at now_ms: the
 * timer [member, due], due one interval (the policy's `repeat`, or
 * [delivery] duress_repeat when it has none) after now, or NULL once
 * that is past duress_ms + duress_repeat_max.  max_age plays no part:
 * the alarm repeats to every tier until a person acknowledges it. */
json_t *duress_next(const struct relay_config *cfg, const struct policy *p,
    const char *alert_id, size_t t, int64_t duress_ms, int64_t now_ms);
/* The notifications of every tier of p at once, each recipient and
 * channel once ([[rid, channel], ...]). */
json_t *duress_deliveries(const struct relay_config *cfg,
    const struct policy *p, const char *recipients, int drill);

#endif
