/*
 * alertctl inbox: the alerts the relay sent to this recipient that are
 * still open or were acknowledged, newest first, from the relay's ack
 * listener (GET /v1/inbox with the recipient's token; cp_http.h).  The
 * relay has routing metadata only, so this is what it can say: the
 * reference, the type, the device, when, how far the escalation got and
 * who took it, and a duress (a cancel with the duress PIN: the alarm
 * is on, silently).  The content is on the receiver or the console.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alertctl.h"
#include "cardtime.h"
#include "cp_http.h"
#include "frame.h"
#include "hook.h"
#include "i18n.h"
#include "log.h"
#include "ltime.h"
#include "out.h"
#include "receipt.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

#define INBOX_LIMIT_DEFAULT 20
#define INBOX_LIMIT_MAX 50 /* what the relay sends at most */
#define INBOX_HOURS_MAX 168

struct inbox_opts {
	struct cp_http h;
	long limit, hours;
	int json;
};

enum {
	OPT_LIMIT = CP_HTTP_OPT_OWN,
	OPT_HOURS,
	OPT_JSON,
};

static int
cmd_inbox_opt(struct inbox_opts *o, int ch)
{
	int rc;

	if (cp_http_opt(&o->h, ch, &rc))
		return rc;
	switch (ch) {
	case OPT_LIMIT:
		if (parse_long(optarg, 1, INBOX_LIMIT_MAX, &o->limit) != 0)
			return usage_error("inbox", _("--limit must be 1..%d"),
			    INBOX_LIMIT_MAX);
		break;
	case OPT_HOURS:
		if (parse_long(optarg, 1, INBOX_HOURS_MAX, &o->hours) != 0)
			return usage_error("inbox", _("--hours must be 1..%d"),
			    INBOX_HOURS_MAX);
		break;
	case OPT_JSON:
		o->json = 1;
		break;
	default:
		return usage_error("inbox", _("bad option"));
	}
	return 0;
}

static int
cmd_inbox_parse(int argc, char **argv, struct inbox_opts *o)
{
	static const struct option longopts[] = {
	    CP_HTTP_LONGOPTS,
	    {"limit", required_argument, NULL, OPT_LIMIT},
	    {"hours", required_argument, NULL, OPT_HOURS},
	    {"json", no_argument, NULL, OPT_JSON},
	    {NULL, 0, NULL, 0},
	};
	int ch, rc;

	memset(o, 0, sizeof(*o));
	cp_http_init(&o->h, "inbox");
	o->h.get = 1;
	o->limit = INBOX_LIMIT_DEFAULT;
	o->hours = 24;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1)
		if ((rc = cmd_inbox_opt(o, ch)) != 0)
			return rc;
	if (optind != argc)
		return usage_error("inbox", _("unexpected argument '%s'"),
		    argv[optind]);
	return 0;
}

static const char *
cmd_inbox_field(const json_t *e, const char *key, char *buf, size_t len)
{
	const char *v = json_str(e, key);

	return out_clean(v != NULL ? v : "-", buf, len);
}

/* A name the relay gives (out_name), "-" when it gives none. */
static const char *
cmd_inbox_name(const json_t *e, const char *key)
{
	const char *v = json_str(e, key);

	return v != NULL ? out_name(v) : "-";
}

/* Who took the alarm, as the relay says (out_acked_by), "-" when no
 * one has. */
static const char *
cmd_inbox_by(const json_t *e)
{
	const char *v = json_str(e, "acknowledged_by");

	return v != NULL ? out_acked_by(v) : "-";
}

static void
cmd_inbox_line(const json_t *e)
{
	char ref[16], tbuf[64], tier[16], when[CARDTIME_LEN], age[CARDTIME_LEN];
	const char *t = json_str(e, "alert_type"), *type;
	json_t *tv = json_object_get(e, "tier");
	int ok;
	long secs = cardtime_since(json_str(e, "received_at"), &ok);

	cmd_inbox_field(e, "ref", ref, sizeof(ref));
	type = hook_print_type(t != NULL ? t : "-", tbuf, sizeof(tbuf));
	if (json_is_integer(tv))
		snprintf(tier, sizeof(tier), "%lld",
		    (long long)json_integer_value(tv));
	else
		snprintf(tier, sizeof(tier), "-");
	receipt_time(json_str(e, "received_at"), RECEIPT_TIME_FULL, when,
	    sizeof(when));
	cardtime_age(secs, age);
	/* said first, on a line of its own: calling back could give the
	 * official away to whoever forced the cancel */
	if (json_is_true(json_object_get(e, "duress")))
		out_line("%s", _("DURESS - silent alarm: do not call back"));
	out_line("%-9s %-9s %-20s %-24s %-12s %-4s %s%s", ref, type,
	    cmd_inbox_name(e, "device_alias"), when, ok ? age : "?", tier,
	    cmd_inbox_by(e),
	    json_is_true(json_object_get(e, "drill")) ? _("  DRILL") : "");
}

static int
cmd_inbox_print(const struct inbox_opts *o, json_t *alerts)
{
	size_t i, n = json_array_size(alerts);

	if (n > (size_t)o->limit)
		n = (size_t)o->limit;
	if (o->json) {
		json_t *out = json_array(), *e;

		for (i = 0; i < n; i++) {
			e = json_array_get(alerts, i);
			/* who took it, as on the human lines */
			if (json_is_string(
			        json_object_get(e, "acknowledged_by")))
				json_object_set_new(e, "acknowledged_by",
				    json_string(cmd_inbox_by(e)));
			/* a device's alias that is no name is left out, as
			 * receive's line does */
			if (json_is_string(
			        json_object_get(e, "device_alias")) &&
			    !out_name_ok(json_str(e, "device_alias")))
				json_object_del(e, "device_alias");
			json_array_append(out, e);
		}
		out_json(out);
		json_decref(out);
		return EXIT_OK;
	}
	if (n == 0) {
		out_line(_("No open alarms for you in the last %ld hours."),
		    o->hours);
		return EXIT_OK;
	}
	out_line("%-9s %-9s %-20s %-24s %-12s %-4s %s", _("REF"), _("TYPE"),
	    _("FROM"), _("RAISED"), _("AGE"), _("TIER"), _("TAKEN BY"));
	for (i = 0; i < n; i++)
		cmd_inbox_line(json_array_get(alerts, i));
	out_line(_("Take one with: alertctl ack REF"));
	return EXIT_OK;
}

static int
cmd_inbox_answer(const struct inbox_opts *o, const struct http_reply *r)
{
	json_t *body =
	    json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	json_t *alerts = json_object_get(body, "alerts");
	int rc;

	if (r->status != 200 || !json_is_array(alerts)) {
		log_warnx(_("the relay gave no inbox: %s (HTTP %ld)"),
		    cp_http_meaning(r), r->status);
		json_decref(body);
		return EXIT_FAIL;
	}
	rc = cmd_inbox_print(o, alerts);
	json_decref(body);
	return rc;
}

int
cmd_inbox(int argc, char **argv, struct globals *g)
{
	char err[CURL_ERROR_SIZE] = "", *path;
	const char *zone;
	struct http_reply *r;
	struct inbox_opts o;
	int rc;

	if ((rc = cmd_inbox_parse(argc, argv, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	if ((rc = cp_http_resolve(&o.h, g->config)) != 0) {
		cp_http_free(&o.h);
		return rc;
	}
	if (cp_config_zone(&o.h.cfg, NULL, &zone) != 0)
		log_warnx(_("unknown timezone '%s': times are shown in %s"),
		    zone, ltime_zone());
	r = xcalloc(1, sizeof(*r));
	path = xasprintf("/v1/inbox?hours=%ld", o.hours);
	rc = cp_http_request(&o.h, path, r, err);
	if (rc > 0)
		log_warnx(_("the relay gave no inbox: %s"), err);
	rc = rc == 0 ? cmd_inbox_answer(&o, r) : EXIT_FAIL;
	free(path);
	free(r);
	cp_http_free(&o.h);
	return rc;
}
