/*
 * Watching supervised devices' deadlines (supervise.h): the poller that
 * raises device.offline, once, whichever instance sees it first.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "checkin_scripts.h"
#include "duepoll.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "ratelimit.h"
#include "relay.h"
#include "store.h"
#include "supervise.h"
#include "xmalloc.h"

#define SUPERVISE_POLL_MS 500
#define SUPERVISE_EVENT_TTL_S (7L * 86400) /* an event's record */
/* A device's supervision record: long enough that a device offline for
 * months still gets its device.online when it is back (README.md). */
#define SUPERVISE_KEEP_S (90L * 86400)
#define SUPERVISE_RESUME_HOLD_MS 3000 /* after Redis came back */
/* "supervise" frames per device: a device sends one per connection, and
 * connections are limited per device ([relay] device_conn_rate, 60 a
 * minute by default); each may write to Redis and log a line. */
#define SUPERVISE_REQ_BURST 30
#define SUPERVISE_REQ_PER_MIN 60

struct supervise {
	struct relay *relay;
	struct duepoll *poll;
	struct store_req *req;
	char dev[ID_MAX + 1];
	int64_t hold_until; /* monotonic: no device offline before */
	struct ratelimit *limit; /* supervise frames per device */
};

json_t *
supervise_notify(const struct relay *relay)
{
	const struct relay_config *cfg = relay->cfg;
	struct policy_delivery *d;
	json_t *out = json_array();
	char *copy, *tok, *save = NULL;
	size_t i, n;

	if (cfg->supervision_notify[0] != '\0') {
		copy = xstrdup(cfg->supervision_notify);
		for (tok = strtok_r(copy, " ,", &save); tok != NULL;
		     tok = strtok_r(NULL, " ,", &save))
			if (relay_config_recipient(cfg, tok) != NULL)
				json_array_append_new(out, json_string(tok));
			else
				log_warnx("supervision: notify names %s, which "
				          "is not a recipient",
				    tok);
		free(copy);
		return out;
	}
	d = policy_deliveries(cfg, policy_for(cfg, "panic", 0), 0, &n);
	for (i = 0; i < n; i++)
		if (strcmp(d[i].channel, "webhook") == 0)
			json_array_append_new(out, json_string(d[i].rid));
	free(d);
	return out;
}

json_t *
supervise_event_args(const struct relay *relay)
{
	unsigned char id[16];
	char eid[33], now[RFC3339_LEN], ttl[24], keep[24];

	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(eid, sizeof(eid), id, sizeof(id));
	time_rfc3339_ms(now, now_ms());
	snprintf(ttl, sizeof(ttl), "%ld", SUPERVISE_EVENT_TTL_S);
	snprintf(keep, sizeof(keep), "%ld", SUPERVISE_KEEP_S);
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "eid", eid, "now", now,
	    "ttl", ttl, "keep", keep, "notify", supervise_notify(relay));
}

static void
supervise_offline_cb(json_t *reply, const char *err, void *arg)
{
	struct supervise *s = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));

	s->req = NULL;
	if (reply == NULL)
		log_warnx("supervision device=%s: %s", s->dev, err);
	else if (r != NULL && strcmp(r, "offline") == 0) {
		metrics.devices_offline_events++;
		log_warnx("supervision device=%s state=offline last_seen=%s",
		    s->dev,
		    json_string_value(json_object_get(reply, "last_seen"))
		        ? json_string_value(json_object_get(reply, "last_seen"))
		        : "-");
	}
	duepoll_next(s->poll);
}

static void
supervise_due_cb(struct duepoll *p, const char *member, void *arg)
{
	struct supervise *s = arg;
	char ms[24];
	json_t *args;

	if (!id_valid(member) || monotonic_ms() < s->hold_until) {
		duepoll_next(p);
		return;
	}
	snprintf(s->dev, sizeof(s->dev), "%s", member);
	snprintf(ms, sizeof(ms), "%lld", (long long)now_ms());
	args = supervise_event_args(s->relay);
	json_object_set_new(args, "dev", json_string(member));
	json_object_set_new(args, "now_ms", json_string(ms));
	s->req = store_eval(s->relay->store, script_supervise_offline, args,
	    supervise_offline_cb, s);
}

struct supervise *
supervise_new(struct relay *relay)
{
	struct supervise *s = xcalloc(1, sizeof(*s));

	s->relay = relay;
	s->poll = duepoll_new(relay, script_due, "supervised",
	    SUPERVISE_POLL_MS, supervise_due_cb, NULL, s);
	s->limit = ratelimit_new(SUPERVISE_REQ_PER_MIN / 60.0,
	    SUPERVISE_REQ_BURST, 16384);
	return s;
}

int
supervise_limit_take(struct supervise *s, const char *device_id)
{
	return s == NULL ||
	    ratelimit_take(s->limit, device_id, strlen(device_id),
	        monotonic_ms());
}

void
supervise_resume(struct supervise *s)
{
	if (s == NULL)
		return;
	s->hold_until = monotonic_ms() + SUPERVISE_RESUME_HOLD_MS;
	supervise_conn_refresh_all(s->relay);
}

/* Removing the device from the set is the claim (script_supervise_
 * offline): a deadline left here stays due for another instance or the
 * next start. */
void
supervise_pause(struct supervise *s)
{
	if (s != NULL)
		duepoll_pause(s->poll);
}

void
supervise_free(struct supervise *s)
{
	if (s == NULL)
		return;
	store_req_cancel(s->req);
	duepoll_free(s->poll);
	ratelimit_free(s->limit);
	free(s);
}
