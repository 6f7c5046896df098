/*
 * Escalation policies: [policy NAME] sections.  A policy is a list of
 * tiers, each a delay from the alert's arrival and the recipients (and
 * channels) to notify then; after the last tier, that tier is repeated
 * every `repeat` seconds until someone acknowledges or `max_age` passes.
 *
 *   [policy default]
 *   types = panic threat
 *   tier = 0 contactpunt:webhook contactpunt:sms
 *   tier = 60 oncall-1:sms oncall-2
 *   tier = 180 *
 *   repeat = 300
 *   max_age = 3600
 *
 * Drills (alertctl send --drill) follow the policy of their type, with
 * no SMS to a tier marked drill=no (tier = 300 meldkamer:sms drill=no),
 * unless a policy with `drill = yes` names their type: then that one,
 * which real alerts never follow.
 */
#ifndef ALERTRELAY_POLICY_H
#define ALERTRELAY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CH_WEBHOOK 0x1
#define CH_SMS 0x2
#define CH_ALL (CH_WEBHOOK | CH_SMS)

struct relay_config;

struct policy_target {
	char rid[ID_MAX + 1];
	int channels; /* CH_* bits */
};

struct policy_tier {
	long delay_s;
	int everyone; /* "*": every recipient, every channel it has */
	struct policy_target *targets;
	size_t ntargets;
	int drill_no; /* "drill=no": a drill sends this tier no SMS */
};

struct policy {
	char name[ID_MAX + 1];
	int line;
	int types; /* bits: 1 panic, 2 threat, 4 test */
	struct policy_tier *tiers;
	size_t ntiers;
	long repeat_s; /* 0: do not repeat the last tier */
	long max_age_s; /* 0: no limit */
	int drill; /* drill = yes: for drills of its types, only them */
};

/* One notification to make: a recipient over one channel. */
struct policy_delivery {
	const char *rid;
	const char *channel; /* "webhook" or "sms" */
};

int policy_set(struct policy *p, const char *key, const char *value, char *err,
    size_t errlen);
/* Checks the policy against the recipients of cfg. */
int policy_check(const struct policy *p, const struct relay_config *cfg,
    char *err, size_t errlen);
void policy_clear(struct policy *p);

const char *channel_name(int ch);
int channel_parse(const char *name); /* CH_* or 0 */
int alert_type_bit(const char *type); /* 0 when unknown */

/* The policy for an alert type: the [policy] naming it, or the built-in
 * one (everyone, every channel, at once, no escalation).  A drill takes
 * a drill = yes policy of its type first. */
const struct policy *policy_for(const struct relay_config *cfg,
    const char *alert_type, int drill);
/* 1 when tier t of p sends SMS for this alert (not in a drill to a tier
 * marked drill=no). */
int policy_tier_sms(const struct policy *p, size_t t, int drill);
const struct policy *policy_named(const struct relay_config *cfg,
    const char *name);
/* The notifications of tier t (t >= ntiers repeats the last tier), all
 * of them: *n of them in an array the caller frees. */
struct policy_delivery *policy_deliveries(const struct relay_config *cfg,
    const struct policy *p, size_t t, size_t *n);
/* When tier t falls due, in ms since the epoch, or -1 when it never
 * does (no such tier, no repeat, or beyond max_age). */
int64_t policy_due(const struct policy *p, size_t t, int64_t received_ms);

#endif
