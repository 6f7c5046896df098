/*
 * Escalation: the timers of every open alert live in Redis (P:timers), so
 * a restarted daemon, or another instance, fires them on time.  Each
 * instance polls for due timers; firing one is an atomic claim in Redis,
 * so a tier fires once however many instances see it due.
 */
#ifndef ALERTRELAY_ESCALATE_H
#define ALERTRELAY_ESCALATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "policy.h"

struct relay;
struct escalate;

struct escalate *escalate_new(struct relay *relay);
void escalate_free(struct escalate *e);
/* The relay stops: no timer is fired from now on but the one under way,
 * which the stop waits for (stopjobs.h). */
void escalate_pause(struct escalate *e);

/* The notifications of tier t as [[rid, channel], ...]; webhooks only to
 * recipients the alert was sealed to (recipients: comma-separated); for
 * a drill, no SMS when the tier says drill=no. */
json_t *escalate_tier(const struct relay_config *cfg, const struct policy *p,
    size_t t, const char *recipients, int drill);
/* The timer after tier t as ["alert_id|t+1", due_ms], or NULL. */
json_t *escalate_next(const struct policy *p, const char *alert_id, size_t t,
    int64_t received_ms);

#endif
