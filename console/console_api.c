/*
 * The read API for the operators' page.  GET /api/alerts: the alerts in
 * the store, opened now, in this process, with the recipient's keys (the
 * database holds them sealed), sorted as the queue shows them: a duress
 * alarm first (the official is being forced: the most urgent there is),
 * then priority (panic, then threat, then test), then oldest first;
 * how many open alerts the list's bound left out (more_open); how many
 * alerts wait for a person (waiting, as the metrics count them) and how
 * many of those the list left out (waiting_unlisted: the page rings for
 * them too); and the supervised devices that are offline now
 * (console_offline.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "alert.h"
#include "console.h"
#include "console_db.h"
#include "console_location.h"
#include "console_metrics.h"
#include "console_notice.h"
#include "console_offline.h"
#include "console_work.h"
#include "frame.h"
#include "log.h"
#include "log_budget.h"

struct console_api_list {
	struct console *c;
	json_t *alerts;
	time_t now;
	long long open; /* open alerts the queue's rows hold */
	long long waiting; /* of those, the ones waiting for a person */
};

static int
console_api_priority(const char *type)
{
	if (strcmp(type, "panic") == 0 || strcmp(type, "missed_checkin") == 0)
		return 0;
	if (strcmp(type, "threat") == 0)
		return 1;
	return 2;
}

static struct hook_config *
console_api_hook(struct console *c, const char *recipient_id)
{
	struct console_recipient *r =
	    console_config_find(&c->cfg, recipient_id);

	return r != NULL ? &r->hook : NULL;
}

/* The device's alias from the signed directory, else its id. */
static const char *
console_api_alias(struct hook_config *hook, const char *device_id)
{
	const struct dir_device *d;

	if (hook->keys.directory == NULL)
		return device_id;
	d = directory_device(&hook->keys.dir, device_id);
	return d != NULL && d->alias != NULL ? d->alias : device_id;
}

const char *
console_api_device_alias(struct console *c, const char *recipient_id,
    const char *device_id)
{
	struct hook_config *hook = console_api_hook(c, recipient_id);

	return hook != NULL ? console_api_alias(hook, device_id) : device_id;
}

static const char *
console_api_state(const struct console_db_alert *row)
{
	if (row->cancelled)
		return "cancelled";
	if (row->acknowledged)
		return "acknowledged";
	return "open";
}

/* What the operators did with it: holder, closure, and how long it
 * took to claim and to acknowledge (an acknowledgement the relay alone
 * vouches for is none: time_to_ack_s null, as in the metrics); who
 * acknowledged is console_notice_apply's. */
static void
console_api_work(struct console *c, json_t *o, const char *alert_id)
{
	struct console_work_state st;

	if (o == NULL || console_work_state(c, alert_id, &st) != 0)
		return;
	json_object_set_new(o, "owner",
	    st.owner[0] ? json_string(st.owner) : json_null());
	json_object_set_new(o, "closed", json_boolean(st.closed));
	json_object_set_new(o, "tier", json_integer(st.tier));
	json_object_set_new(o, "outcome",
	    st.closed ? json_string(st.outcome) : json_null());
	json_object_set_new(o, "time_to_claim_s",
	    st.claimed_at ? json_integer(st.claimed_at - st.received_at)
	                  : json_null());
	json_object_set_new(o, "time_to_ack_s",
	    st.acked_at ? json_integer(st.acked_at - st.received_at)
	                : json_null());
	if (st.closed)
		json_object_set_new(o, "state", json_string("closed"));
}

static json_t *
console_api_one(struct console *c, time_t now, struct hook_config *hook,
    const struct hook_body *b, const struct alert *a,
    const struct console_db_alert *row)
{
	time_t created = now;
	const char *ref = hook_print_ref(b); /* well-formed, or none */
	json_t *o;

	(void)time_rfc3339_parse(a->created_at, &created);
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:o, s:o, s:s, "
	              "s:o, s:b, s:s, s:s, s:b, s:b}",
	    "alert_id", a->alert_id, "type", a->alert_type, "priority",
	    console_api_priority(a->alert_type), "device_id", a->device_id,
	    "device_alias", console_api_alias(hook, a->device_id), "created_at",
	    a->created_at, "age_s", (json_int_t)(now - created), "message",
	    a->message != NULL ? json_string(a->message) : json_null(),
	    "location", console_location_json(c, hook, row->recipient_id, a),
	    "state", console_api_state(row), "ref",
	    ref != NULL ? json_string(ref) : json_null(), "stale", row->stale,
	    "recipient_id", row->recipient_id, "received_at", b->received_at,
	    "drill", a->drill, "duress", row->duress);
	json_object_set_new(o, "device_revoked",
	    json_boolean(hook_keys_revoked(&hook->keys, a->device_id)));
	/* signed created_at ahead of this clock: let go before its time
	 * (a check-in a relay released early) */
	json_object_set_new(o, "early",
	    json_boolean(now - created < -HOOK_CLOCK_SKEW_S));
	console_api_work(c, o, a->alert_id);
	/* the relay's notices count by whose signature they carry */
	if (o != NULL)
		console_notice_apply(c, hook, a, b->o, o);
	return o;
}

/* One stored alert: parsed and opened as when it arrived.  One that no
 * longer opens (its recipient removed from the configuration) is
 * logged and left out (NULL). */
json_t *
console_api_opened(struct console *c, const struct console_db_alert *row,
    time_t now)
{
	struct hook_request req;
	struct hook_reply r;
	struct hook_body b;
	struct hook_config *hook;
	struct alert a;
	json_t *o = NULL;

	memset(&req, 0, sizeof(req));
	memset(&b, 0, sizeof(b));
	memset(&a, 0, sizeof(a));
	req.body = row->body;
	req.bodylen = row->bodylen;
	hook = console_api_hook(c, row->recipient_id);
	if (hook == NULL)
		log_warnx("stored alert for recipient %s: no longer configured",
		    row->recipient_id);
	else if (hook_parse_body(&req, &b, &r) != 0 ||
	    (hook_is_sealed(&b) && hook_open_alert(hook, &b, &a, &r) != 0))
		log_warnx("stored alert for %s does not open: %s",
		    row->recipient_id, r.reason);
	else if (!hook_is_sealed(&b)) {
		/* a duress alarm that came without its content: the
		 * relay's outer fields, marked so */
		hook_outer_alert(&b, &a);
		o = console_api_one(c, now, hook, &b, &a, row);
		json_object_set_new(o, "sealed", json_false());
	} else
		o = console_api_one(c, now, hook, &b, &a, row);
	json_decref(b.o);
	alert_clear(&a);
	return o;
}

void
console_api_check_ref(const struct hook_body *b)
{
	static struct log_budget budget = {"malformed references", 0, 0, 0};

	if (json_object_get(b->o, "ref") != NULL && hook_print_ref(b) == NULL &&
	    log_budget_take(&budget))
		log_warnx("webhook for alert %s: its reference is not 8 "
		          "letters of the alphabet; not shown",
		    b->alert_id);
}

static void
console_api_row(void *arg, const struct console_db_alert *row)
{
	struct console_api_list *l = arg;
	json_t *o = console_api_opened(l->c, row, l->now);

	l->open += row->open;
	l->waiting += row->waiting;
	if (o != NULL)
		json_array_append_new(l->alerts, o);
}

static int
console_api_cmp(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t pa = json_integer_value(json_object_get(a, "priority"));
	json_int_t pb = json_integer_value(json_object_get(b, "priority"));
	int da = json_is_true(json_object_get(a, "duress"));
	int db = json_is_true(json_object_get(b, "duress"));

	if (da != db)
		return da ? -1 : 1;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return strcmp(json_string_value(json_object_get(a, "created_at")),
	    json_string_value(json_object_get(b, "created_at")));
}

static json_t *
console_api_sorted(json_t *alerts)
{
	size_t n = json_array_size(alerts), i;
	json_t **v = calloc(n + 1, sizeof(*v)), *out = json_array();

	if (v == NULL || out == NULL) {
		free(v);
		json_decref(out);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(alerts, i);
	qsort(v, n, sizeof(*v), console_api_cmp);
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	return out;
}

/* The open alerts the queue's bound left out (console_db_queue_sql):
 * the page says how many more wait.  Counted after the list, so an
 * alert that came in between counts here rather than nowhere. */
static json_int_t
console_api_more(long long n, long long listed)
{
	return n > listed ? (json_int_t)(n - listed) : 0;
}

/* The counts beside the list, the open ones and those waiting for a
 * person, each less the listed ones (0 on a database error: the list
 * itself was read). */
static json_t *
console_api_counts(struct console *c, const struct console_api_list *l,
    json_t *sorted)
{
	long long waiting = console_metrics_waiting(c);

	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I}", "alerts", sorted,
	    "offline", console_offline_json(c), "now", (json_int_t)l->now,
	    "more_open",
	    console_api_more(console_db_open_count(c->db), l->open), "waiting",
	    (json_int_t)(waiting > 0 ? waiting : 0), "waiting_unlisted",
	    console_api_more(waiting, l->waiting));
}

/* The decrypted text lives only in this answer: the JSON objects are
 * freed at once, and the caller wipes the text once sent. */
char *
console_api_alerts(struct console *c)
{
	struct console_api_list l = {c, json_array(), time(NULL), 0, 0};
	json_t *sorted, *o;
	char *text = NULL;

	if (l.alerts == NULL)
		return NULL;
	if (console_db_alerts(c->db, NULL, console_api_row, &l) == 0 &&
	    (sorted = console_api_sorted(l.alerts)) != NULL) {
		o = console_api_counts(c, &l, sorted);
		if (o != NULL)
			text = json_dumps(o,
			    JSON_COMPACT | JSON_REAL_PRECISION(15));
		json_decref(o);
	}
	json_decref(l.alerts);
	return text;
}

json_t *
console_api_alert(struct console *c, const char *alert_id)
{
	struct console_api_list l = {c, json_array(), time(NULL), 0, 0};
	json_t *o = NULL;

	if (l.alerts == NULL)
		return NULL;
	if (console_db_alerts(c->db, alert_id, console_api_row, &l) == 0 &&
	    json_array_size(l.alerts) == 1)
		o = json_incref(json_array_get(l.alerts, 0));
	json_decref(l.alerts);
	return o;
}
