/*
 * The newest position of an alert (console_location.h).
 */
#include <string.h>
#include <time.h>

#include "console_db_view.h"
#include "console_location.h"
#include "frame.h"
#include "log.h"

struct console_location {
	struct hook_config *hook;
	const struct alert *a;
	int has; /* a position is known */
	double lat, lon, accuracy_m;
	int has_accuracy;
	time_t at;
	char fixed_at[RFC3339_LEN];
	int updates; /* usable alert.location webhooks */
};

static void
console_location_take(struct console_location *l, const struct alert *u,
    time_t at)
{
	l->has = 1;
	l->lat = u->lat;
	l->lon = u->lon;
	l->has_accuracy = u->has_accuracy;
	l->accuracy_m = u->accuracy_m;
	l->at = at;
	snprintf(l->fixed_at, sizeof(l->fixed_at), "%s", u->created_at);
}

/* One stored alert.location: opened and checked as when it came in,
 * and from the alert's own device. */
static void
console_location_update(void *arg, const char *body, size_t len)
{
	struct console_location *l = arg;
	struct hook_request req;
	struct hook_reply r;
	struct hook_body b;
	struct alert u;
	time_t at;

	memset(&req, 0, sizeof(req));
	memset(&b, 0, sizeof(b));
	memset(&u, 0, sizeof(u));
	req.body = body;
	req.bodylen = len;
	if (hook_parse_body(&req, &b, &r) != 0 ||
	    hook_open_alert(l->hook, &b, &u, &r) != 0)
		log_warnx("stored position of alert %s does not open",
		    l->a->alert_id);
	else if (strcmp(u.device_id, l->a->device_id) == 0 && u.has_location &&
	    time_rfc3339_parse(u.created_at, &at) == 0) {
		l->updates++;
		if (!l->has || at > l->at)
			console_location_take(l, &u, at);
	}
	json_decref(b.o);
	alert_clear(&u);
}

json_t *
console_location_json(struct console *c, struct hook_config *hook,
    const char *recipient_id, const struct alert *a)
{
	struct console_location l;
	time_t at = 0;

	memset(&l, 0, sizeof(l));
	l.hook = hook;
	l.a = a;
	if (a->has_location) {
		(void)time_rfc3339_parse(a->created_at, &at);
		console_location_take(&l, a, at);
	}
	(void)console_db_updates(c->db, a->alert_id, recipient_id,
	    console_location_update, &l);
	if (!l.has)
		return json_null();
	return json_pack("{s:f, s:f, s:o, s:s, s:i}", "lat", l.lat, "lon",
	    l.lon, "accuracy_m",
	    l.has_accuracy ? json_real(l.accuracy_m) : json_null(), "fixed_at",
	    l.fixed_at, "updates", l.updates);
}
