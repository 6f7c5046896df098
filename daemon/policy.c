/*
 * Escalation policies: the [policy NAME] sections, their tiers and repeats
 * (policy.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "relay_config.h"
#include "xmalloc.h"

static const struct policy_tier default_tier = {0, 1, NULL, 0, 0};
static const struct policy default_policy = {"default", 0, 7,
    (struct policy_tier *)&default_tier, 1, 0, 0, 0};

const char *
channel_name(int ch)
{
	return ch == CH_SMS ? "sms" : "webhook";
}

int
channel_parse(const char *name)
{
	if (strcmp(name, "webhook") == 0)
		return CH_WEBHOOK;
	if (strcmp(name, "sms") == 0)
		return CH_SMS;
	return 0;
}

int
alert_type_bit(const char *type)
{
	/* A missed check-in escalates like a panic alert. */
	if (strcmp(type, "panic") == 0 || strcmp(type, "missed_checkin") == 0)
		return 1;
	if (strcmp(type, "threat") == 0)
		return 2;
	if (strcmp(type, "test") == 0)
		return 4;
	return 0;
}

static int
policy_set_types(struct policy *p, const char *value, char *err, size_t errlen)
{
	char *copy = xstrdup(value), *tok, *save = NULL;
	int bit, rc = 0;

	p->types = 0;
	for (tok = strtok_r(copy, " ,", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,", &save)) {
		if ((bit = alert_type_bit(tok)) == 0) {
			snprintf(err, errlen, "unknown alert type %s", tok);
			rc = -1;
			break;
		}
		p->types |= bit;
	}
	free(copy);
	return rc;
}

/* "rid", "rid:channel" or "*" */
static int
policy_add_target(struct policy_tier *t, const char *tok, char *err,
    size_t errlen)
{
	struct policy_target *pt;
	const char *colon = strchr(tok, ':');
	size_t idlen = colon ? (size_t)(colon - tok) : strlen(tok);

	if (strcmp(tok, "*") == 0) {
		t->everyone = 1;
		return 0;
	}
	if (strcmp(tok, "drill=no") == 0) {
		t->drill_no = 1;
		return 0;
	}
	t->targets =
	    xreallocarray(t->targets, t->ntargets + 1, sizeof(*t->targets));
	pt = &t->targets[t->ntargets++];
	memset(pt, 0, sizeof(*pt));
	if (idlen == 0 || idlen > ID_MAX) {
		snprintf(err, errlen, "bad tier target %s", tok);
		return -1;
	}
	memcpy(pt->rid, tok, idlen);
	pt->channels = colon ? channel_parse(colon + 1) : CH_ALL;
	if (!id_valid(pt->rid) || pt->channels == 0) {
		snprintf(err, errlen,
		    "bad tier target %s (want RECIPIENT, RECIPIENT:webhook, "
		    "RECIPIENT:sms, * or drill=no)",
		    tok);
		return -1;
	}
	return 0;
}

static int
policy_add_tier(struct policy *p, const char *value, char *err, size_t errlen)
{
	char *copy = xstrdup(value), *tok, *save = NULL;
	struct policy_tier *t;
	long delay = 0; /* read below even when the tier is refused */
	int rc = 0;

	p->tiers = xreallocarray(p->tiers, p->ntiers + 1, sizeof(*p->tiers));
	t = &p->tiers[p->ntiers++];
	memset(t, 0, sizeof(*t));
	tok = strtok_r(copy, " ", &save);
	if (tok == NULL || parse_long(tok, 0, 7 * 86400, &delay) != 0) {
		snprintf(err, errlen,
		    "tier = SECONDS TARGET...: seconds must come first");
		rc = -1;
	} else if (p->ntiers > 1 && delay < p->tiers[p->ntiers - 2].delay_s) {
		snprintf(err, errlen, "tiers must be in order of their delay");
		rc = -1;
	}
	t->delay_s = delay;
	while (rc == 0 && (tok = strtok_r(NULL, " ", &save)) != NULL)
		rc = policy_add_target(t, tok, err, errlen);
	if (rc == 0 && !t->everyone && t->ntargets == 0) {
		snprintf(err, errlen, "a tier needs at least one target");
		rc = -1;
	}
	free(copy);
	return rc;
}

int
policy_set(struct policy *p, const char *key, const char *value, char *err,
    size_t errlen)
{
	if (strcmp(key, "types") == 0)
		return policy_set_types(p, value, err, errlen);
	if (strcmp(key, "tier") == 0)
		return policy_add_tier(p, value, err, errlen);
	if (strcmp(key, "drill") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			snprintf(err, errlen, "drill must be yes or no");
			return -1;
		}
		p->drill = strcmp(value, "yes") == 0;
		return 0;
	}
	if (strcmp(key, "repeat") == 0 || strcmp(key, "max_age") == 0) {
		long *dst = key[0] == 'r' ? &p->repeat_s : &p->max_age_s;

		if (parse_long(value, 0, 30 * 86400, dst) != 0 || 0) {
			snprintf(err, errlen,
			    "%s must be seconds, 0 to "
			    "30 days",
			    key);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown key %s in [policy %s]", key, p->name);
	return -1;
}

int
policy_check(const struct policy *p, const struct relay_config *cfg, char *err,
    size_t errlen)
{
	const struct recipient_entry *r;
	size_t i, j;

	if (p->ntiers == 0) {
		snprintf(err, errlen, "policy %s has no tier", p->name);
		return -1;
	}
	for (i = 0; i < p->ntiers; i++)
		for (j = 0; j < p->tiers[i].ntargets; j++) {
			const struct policy_target *t = &p->tiers[i].targets[j];

			if ((r = relay_config_recipient(cfg, t->rid)) == NULL) {
				snprintf(err, errlen,
				    "policy %s: unknown recipient %s", p->name,
				    t->rid);
				return -1;
			}
			if ((t->channels & CH_WEBHOOK) &&
			    t->channels != CH_ALL && r->webhook_url == NULL) {
				snprintf(err, errlen,
				    "policy %s: recipient %s has no webhook",
				    p->name, t->rid);
				return -1;
			}
			if ((t->channels & CH_SMS) && t->channels != CH_ALL &&
			    r->sms == NULL) {
				snprintf(err, errlen,
				    "policy %s: recipient %s has no sms",
				    p->name, t->rid);
				return -1;
			}
		}
	return 0;
}

void
policy_clear(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->ntiers; i++)
		free(p->tiers[i].targets);
	free(p->tiers);
	p->tiers = NULL;
	p->ntiers = 0;
}

const struct policy *
policy_for(const struct relay_config *cfg, const char *alert_type, int drill)
{
	int bit = alert_type_bit(alert_type);
	size_t i;

	for (i = 0; drill && i < cfg->npolicies; i++)
		if (cfg->policies[i].drill && (cfg->policies[i].types & bit))
			return &cfg->policies[i];
	for (i = 0; i < cfg->npolicies; i++)
		if (!cfg->policies[i].drill && (cfg->policies[i].types & bit))
			return &cfg->policies[i];
	return &default_policy;
}

int
policy_tier_sms(const struct policy *p, size_t t, int drill)
{
	return !drill || !p->tiers[t < p->ntiers ? t : p->ntiers - 1].drill_no;
}

const struct policy *
policy_named(const struct relay_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->npolicies; i++)
		if (strcmp(cfg->policies[i].name, name) == 0)
			return &cfg->policies[i];
	return strcmp(name, default_policy.name) == 0 ? &default_policy : NULL;
}

static size_t
policy_add_channels(const struct recipient_entry *r, int channels,
    struct policy_delivery *out, size_t n, size_t max)
{
	if ((channels & CH_WEBHOOK) && r->webhook_url != NULL && n < max) {
		out[n].rid = r->id;
		out[n++].channel = "webhook";
	}
	if ((channels & CH_SMS) && r->sms != NULL && n < max) {
		out[n].rid = r->id;
		out[n++].channel = "sms";
	}
	return n;
}

struct policy_delivery *
policy_deliveries(const struct relay_config *cfg, const struct policy *p,
    size_t t, size_t *np)
{
	const struct policy_tier *tier =
	    &p->tiers[t < p->ntiers ? t : p->ntiers - 1];
	const struct recipient_entry *r;
	struct policy_delivery *out;
	size_t i, n = 0, max;

	/* Room for every channel of everyone the tier names, so that no
	 * recipient is ever left out for want of it. */
	max = 2 * (tier->everyone ? cfg->nrecipients : tier->ntargets);
	out = xcalloc(max + 1, sizeof(*out));
	if (tier->everyone) {
		for (i = 0; i < cfg->nrecipients; i++)
			n = policy_add_channels(&cfg->recipients[i], CH_ALL,
			    out, n, max);
	} else {
		for (i = 0; i < tier->ntargets; i++)
			if ((r = relay_config_recipient(cfg,
			         tier->targets[i].rid)) != NULL)
				n = policy_add_channels(r,
				    tier->targets[i].channels, out, n, max);
	}
	*np = n;
	return out;
}

int64_t
policy_due(const struct policy *p, size_t t, int64_t received_ms)
{
	int64_t due;

	if (t < p->ntiers)
		due = received_ms + (int64_t)p->tiers[t].delay_s * 1000;
	else if (p->repeat_s > 0)
		due = received_ms +
		    (int64_t)p->tiers[p->ntiers - 1].delay_s * 1000 +
		    (int64_t)(t - p->ntiers + 1) * p->repeat_s * 1000;
	else
		return -1;
	if (p->max_age_s > 0 && due > received_ms + p->max_age_s * 1000)
		return -1;
	return due;
}
