/*
 * Escalation: polling the alert timers in Redis and firing each tier once
 * (escalate.h).
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "duress.h"
#include "escalate.h"
#include "evtimer_ms.h"
#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "stopjobs.h"
#include "store.h"
#include "store_scripts.h"
#include "xmalloc.h"

#define POLL_MS 200 /* how late a tier may fire, at most */
#define POLL_COUNT 50

struct escalate {
	struct relay *relay;
	struct event *poll_ev;
	struct store_req *req;
	char **members; /* due timers being worked through */
	size_t nmembers, next;
	char *current; /* the member being fired */
	int duress; /* the current member is a duress repeat */
	int64_t duress_ended; /* its repeats end with it: ms since the duress,
	                       * else -1 */
	int malformed; /* the current member is being dropped as malformed */
	int paused; /* escalate_pause(): no member taken up from now on */
};

static int
csv_has(const char *csv, const char *id)
{
	size_t n = strlen(id);
	const char *p = csv;

	while ((p = strstr(p, id)) != NULL) {
		if ((p == csv || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

json_t *
escalate_tier(const struct relay_config *cfg, const struct policy *p, size_t t,
    const char *recipients, int drill)
{
	size_t i, n;
	struct policy_delivery *d = policy_deliveries(cfg, p, t, &n);
	json_t *out = json_array();

	for (i = 0; i < n; i++) {
		/* A webhook carries the sealed alert: none without one. */
		if (strcmp(d[i].channel, "webhook") == 0 &&
		    !csv_has(recipients, d[i].rid))
			continue;
		if (strcmp(d[i].channel, "sms") == 0 &&
		    !policy_tier_sms(p, t, drill))
			continue;
		json_array_append_new(out,
		    json_pack("[s, s]", d[i].rid, d[i].channel));
	}
	free(d);
	return out;
}

json_t *
escalate_next(const struct policy *p, const char *alert_id, size_t t,
    int64_t received_ms)
{
	int64_t due = policy_due(p, t + 1, received_ms);
	char member[64], dues[24];

	if (due < 0)
		return NULL;
	snprintf(member, sizeof(member), "%s|%zu", alert_id, t + 1);
	snprintf(dues, sizeof(dues), "%lld", (long long)due);
	return json_pack("[s, s]", member, dues);
}

static void escalate_work(struct escalate *e);

/* A tier fired or the alert expired, in the audit log. */
static void
escalate_audit(struct escalate *e, const char *r)
{
	char object[48], why[32];

	snprintf(object, sizeof(object), "alert:%.32s", e->current);
	snprintf(why, sizeof(why), "tier=%.8s", strchr(e->current, '|') + 1);
	audit_relay(e->relay,
	    strcmp(r, "expired") == 0 ? "alert.expired" : "alert.escalated",
	    object, "ok", NULL, "relay", "relay", why);
}

/* Counts the member this instance fired; the last duress repeat is said
 * here, after the claim, so one instance says it, once, and only after
 * the repeat's deliveries are queued. */
static void
escalate_count(struct escalate *e)
{
	const struct relay_config *cfg = e->relay->cfg;

	if (!e->duress) {
		if (strcmp(strchr(e->current, '|') + 1, "0") != 0)
			metrics.escalations++;
		return;
	}
	metrics.duress_repeats++;
	if (e->duress_ended >= 0)
		log_warnx("duress repeats ended alert=%.32s after=%llds "
		          "tier=%s duress_repeat_max=%ld state=open",
		    e->current, (long long)(e->duress_ended / 1000),
		    strchr(e->current, '|') + 1, cfg->duress_repeat_max);
}

static void
escalate_fired_cb(json_t *reply, const char *err, void *arg)
{
	struct escalate *e = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));

	e->req = NULL;
	if (reply == NULL)
		log_warnx("escalation %s: %s", e->current, err);
	else if (strcmp(r, "fired") == 0 || strcmp(r, "expired") == 0) {
		log_info("escalation alert=%.32s tier=%s result=%s", e->current,
		    strchr(e->current, '|') + 1, r);
		escalate_audit(e, r);
		if (strcmp(r, "fired") == 0)
			escalate_count(e);
	} else if (strcmp(r, "shown_expired") == 0)
		/* not alert.expired: the duress alarm goes on; only what its
		 * device sees ended, as the own PIN's alarm would have */
		log_info("escalation alert=%.32s tier=x result=shown_expired "
		         "state=open duress=1",
		    e->current);
	escalate_work(e);
}

/* A repeat of an alarm cancelled under duress (duress.h): every
 * recipient of every tier, one interval after this one, until a person
 * acknowledges; past duress_repeat_max no next one, said once. */
static json_t *
escalate_duress(struct escalate *e, const struct policy *p, const json_t *brief,
    const char *aid, size_t t, json_t **next)
{
	const struct relay_config *cfg = e->relay->cfg;
	const char *rs = json_str(brief, "recipients");
	int64_t d = strtoll(json_str(brief, "duress_ms"), NULL, 10);
	int64_t now = now_ms();

	*next = duress_next(cfg, p, aid, t, d, now);
	e->duress = 1;
	e->duress_ended = *next == NULL ? now - d : -1;
	return duress_deliveries(cfg, p, rs != NULL ? rs : "",
	    json_is_true(json_object_get(brief, "drill")));
}

/* When the alert came in, as Redis keeps it.  An alert hash without it
 * (damaged, or edited by hand) must not take the relay down: the next
 * tier is then timed from now. */
static int64_t
escalate_received(const json_t *reply, const char *aid)
{
	const char *rms = json_str(reply, "received_ms");

	if (rms != NULL)
		return strtoll(rms, NULL, 10);
	log_warnx("escalation of alert=%s: its stored received_ms is missing; "
	          "the next tier is timed from now",
	    aid);
	return now_ms();
}

static void
escalate_dropped_cb(json_t *reply, const char *err, void *arg)
{
	struct escalate *e = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));

	e->req = NULL;
	if (reply == NULL)
		log_warnx("escalation: dropping a stale timer: %s", err);
	else if (r != NULL && strcmp(r, "dropped") == 0 && e->malformed)
		/* its text may be anything: not logged */
		log_warnx("escalation timer dropped reason=malformed "
		          "length=%zu",
		    strlen(e->current));
	else if (r != NULL && strcmp(r, "dropped") == 0)
		log_warnx("escalation timer dropped reason=no_alert "
		          "alert=%.32s tier=%s",
		    e->current, strchr(e->current, '|') + 1);
	escalate_work(e);
}

/* A member that can never fire is removed, else enough of them (the
 * oldest POLL_COUNT are read) would hold up every tier due after them.
 * With aid, only while that alert does not exist (script_timer_drop). */
static void
escalate_drop(struct escalate *e, const char *aid)
{
	json_t *args = json_pack("{s:s}", "member", e->current);

	e->malformed = aid == NULL;
	if (aid != NULL)
		json_object_set_new(args, "aid", json_string(aid));
	e->req = store_eval(e->relay->store, script_timer_drop, args,
	    escalate_dropped_cb, e);
}

/* Fires the current member, now that its alert's details are known. */
static void
escalate_brief_cb(json_t *reply, const char *err, void *arg)
{
	struct escalate *e = arg;
	const struct relay_config *cfg = e->relay->cfg;
	const struct policy *p;
	const char *tierstr = strchr(e->current, '|') + 1, *rs;
	char aid[33];
	long t;
	json_t *args, *next, *deliveries;
	int64_t received;
	char now[RFC3339_LEN];

	e->req = NULL;
	snprintf(aid, sizeof(aid), "%.32s", e->current);
	/* stopping: only read so far, so the timer is still due in Redis */
	if (e->paused || reply == NULL ||
	    parse_long(tierstr, 0, 1000000000, &t) != 0) {
		if (reply == NULL)
			log_warnx("escalation %s: %s", e->current, err);
		escalate_work(e);
		return;
	}
	if (!json_is_true(json_object_get(reply, "exists"))) {
		escalate_drop(e, aid);
		return;
	}
	p = policy_named(cfg,
	    json_string_value(json_object_get(reply, "policy")));
	if (p == NULL) /* removed by a reload: use today's for its type */
		p = policy_for(cfg,
		    json_string_value(json_object_get(reply, "alert_type")),
		    json_is_true(json_object_get(reply, "drill")));
	received = escalate_received(reply, aid);
	time_rfc3339_ms(now, now_ms());
	if (json_str(reply, "duress_ms") != NULL) {
		deliveries =
		    escalate_duress(e, p, reply, aid, (size_t)t, &next);
	} else {
		next = escalate_next(p, aid, (size_t)t, received);
		rs = json_str(reply, "recipients");
		deliveries =
		    escalate_tier(cfg, p, (size_t)t, rs != NULL ? rs : "",
		        json_is_true(json_object_get(reply, "drill")));
	}
	args = json_pack("{s:s, s:s, s:s, s:o, s:s}", "member", e->current,
	    "aid", aid, "tier", tierstr, "deliveries", deliveries, "now", now);
	if (next != NULL)
		json_object_set_new(args, "next", next);
	if (e->duress)
		json_object_set_new(args, "duress", json_true());
	e->req = store_eval(e->relay->store, script_fire, args,
	    escalate_fired_cb, e);
}

/* "<alert id>|<tier>", "<alert id>|x" (expiry) or "<alert id>|sx" (the
 * device's view of a late-duress alarm expiring), as the relay writes
 * them. */
static int
escalate_member_ok(const char *m)
{
	const char *bar = strchr(m, '|');
	char aid[33];
	long t;

	if (bar == NULL || bar - m != 32)
		return 0;
	snprintf(aid, sizeof(aid), "%.32s", m);
	return alert_id_valid(aid) &&
	    (strcmp(bar + 1, "x") == 0 || strcmp(bar + 1, "sx") == 0 ||
	        parse_long(bar + 1, 0, 1000000000, &t) == 0);
}

static void
escalate_one(struct escalate *e)
{
	char aid[33], now[RFC3339_LEN];
	const char *bar = strchr(e->current, '|');

	if (!escalate_member_ok(e->current)) {
		escalate_drop(e, NULL);
		return;
	}
	e->duress = 0;
	e->duress_ended = -1;
	snprintf(aid, sizeof(aid), "%.32s", e->current);
	if (strcmp(bar + 1, "x") == 0 || strcmp(bar + 1, "sx") == 0) {
		time_rfc3339_ms(now, now_ms());
		e->req = store_eval(e->relay->store, script_fire,
		    json_pack("{s:s, s:s, s:b, s:s}", "member", e->current,
		        "aid", aid, bar[1] == 's' ? "shown_expire" : "expire",
		        1, "now", now),
		    escalate_fired_cb, e);
		return;
	}
	e->req = store_eval(e->relay->store, script_brief,
	    json_pack("{s:s}", "aid", aid), escalate_brief_cb, e);
}

/* Works through the due members one at a time, then waits.  A stop
 * waits for the member being worked on (stopjobs.h), so that its
 * record comes before relay.stop. */
static void
escalate_work(struct escalate *e)
{
	if (e->current != NULL)
		stopjobs_end(e->relay->stopjobs);
	free(e->current);
	e->current = NULL;
	if (e->paused)
		return;
	if (e->next < e->nmembers) {
		e->current = e->members[e->next];
		e->members[e->next++] = NULL;
		stopjobs_begin(e->relay->stopjobs);
		escalate_one(e);
		return;
	}
	evtimer_add_ms(e->poll_ev, POLL_MS);
}

static void
escalate_due_cb(char **members, size_t n, const char *err, void *arg)
{
	struct escalate *e = arg;
	size_t i;

	e->req = NULL;
	if (err != NULL)
		log_debug("escalation: reading timers: %s", err);
	for (i = 0; i < e->nmembers; i++)
		free(e->members[i]);
	free(e->members);
	e->members = n > 0 ? xcalloc(n, sizeof(*e->members)) : NULL;
	for (i = 0; i < n; i++)
		e->members[i] = xstrdup(members[i]);
	e->nmembers = n;
	e->next = 0;
	escalate_work(e);
}

static void
escalate_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct escalate *e = arg;

	(void)fd;
	(void)what;
	if (!store_ready(e->relay->store)) {
		evtimer_add_ms(e->poll_ev, POLL_MS);
		return;
	}
	e->req = store_due_timers(e->relay->store, now_ms(), POLL_COUNT,
	    escalate_due_cb, e);
}

struct escalate *
escalate_new(struct relay *relay)
{
	struct escalate *e = xcalloc(1, sizeof(*e));

	e->relay = relay;
	e->poll_ev = evtimer_new(relay->base, escalate_poll_cb, e);
	evtimer_add_ms(e->poll_ev, POLL_MS);
	return e;
}

/* Safe to leave between members, as a crash would: firing a tier is
 * its claim (script_fire removes the timer as it queues the tier), so
 * a timer not fired here stays due in Redis for another instance or
 * the next start, and none fires twice. */
void
escalate_pause(struct escalate *e)
{
	if (e == NULL)
		return;
	e->paused = 1;
	evtimer_del(e->poll_ev);
}

void
escalate_free(struct escalate *e)
{
	size_t i;

	if (e == NULL)
		return;
	store_req_cancel(e->req);
	event_free(e->poll_ev);
	for (i = 0; i < e->nmembers; i++)
		free(e->members[i]);
	free(e->members);
	free(e->current);
	free(e);
}
