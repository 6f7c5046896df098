/*
 * SMS delivery reports on the ack listener (ack_report.h): the report's
 * query checked, its credential compared with Redis's, then the report
 * recorded (script_report).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <sodium.h>

#include "ack_report.h"
#include "http_json.h"
#include "log.h"
#include "relay.h"
#include "sms_gateway.h"
#include "sms_report.h"
#include "store.h"
#include "store_scripts.h"
#include "util.h"
#include "xmalloc.h"

#define REPORT_LOG_INTERVAL_MS 60000

/* One report between its two Redis steps; the connection's close
 * callback detaches it when Kannel goes away first. */
struct ack_report {
	struct relay *relay;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct store_req *sreq;
	struct sms_report_fields f;
};

static int64_t report_logged_ms; /* a refused report: once a minute */

static void
report_reply(struct evhttp_request *req, int code, const char *reason,
    const char *message)
{
	http_json_reply(req, code, reason, json_pack("{s:s}", "r", message));
}

static void
report_free(struct ack_report *p)
{
	evhttp_connection_set_closecb(p->evcon, NULL, NULL);
	sodium_memzero(p->f.cred, sizeof(p->f.cred));
	free(p);
}

static void
report_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct ack_report *p = arg;

	(void)evcon;
	store_req_cancel(p->sreq);
	sodium_memzero(p->f.cred, sizeof(p->f.cred));
	free(p);
}

static void
report_done_cb(json_t *reply, const char *err, void *arg)
{
	struct ack_report *p = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));

	p->sreq = NULL;
	if (r == NULL) {
		log_warnx("sms report alert=%s recipient=%s: %s", p->f.aid,
		    p->f.rid, err ? err : "bad answer");
		report_reply(p->req, 503, "Service Unavailable", "try again");
	} else {
		log_info("sms report alert=%s recipient=%s type=%d: %s",
		    p->f.aid, p->f.rid, p->f.type, r);
		report_reply(p->req, 200, "OK", r);
	}
	report_free(p);
}

static const struct recipient_entry *
report_recipient(const struct ack_report *p)
{
	return relay_config_recipient(p->relay->cfg, p->f.rid);
}

static void
report_record(struct ack_report *p)
{
	const struct recipient_entry *re = report_recipient(p);
	char now[RFC3339_LEN], ms[24];
	int64_t t = now_ms();
	json_t *args;

	time_rfc3339_ms(now, t);
	snprintf(ms, sizeof(ms), "%lld", (long long)t);
	args = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "aid",
	    p->f.aid, "rid", p->f.rid, "c", p->f.cred, "alias",
	    re != NULL && re->alias != NULL ? re->alias : p->f.rid, "now", now,
	    "now_ms", ms, "delivered", p->f.type == SMS_REPORT_DELIVERED,
	    "reason",
	    p->f.type == SMS_REPORT_FAILED
	        ? "delivery report: not delivered to the phone"
	        : "delivery report: not delivered to the SMS centre");
	p->sreq =
	    store_eval(p->relay->store, script_report, args, report_done_cb, p);
}

/* Kannel's report for an SMS that is not waited for (any more), or one
 * whose credential is wrong: the same answer, nothing changed. */
static void
report_refused(struct ack_report *p, const char *why)
{
	int64_t now = now_ms();

	if (report_logged_ms == 0 ||
	    now - report_logged_ms >= REPORT_LOG_INTERVAL_MS) {
		report_logged_ms = now;
		log_info("sms report refused: %s", why);
	}
	report_reply(p->req, 404, "Not Found", "no such report awaited");
	report_free(p);
}

static void
report_check_cb(json_t *reply, const char *err, void *arg)
{
	struct ack_report *p = arg;
	const char *c = json_string_value(json_object_get(reply, "c"));
	const char *u = json_string_value(json_object_get(reply, "u"));

	p->sreq = NULL;
	if (reply == NULL) {
		log_warnx("sms report alert=%s: %s", p->f.aid, err);
		report_reply(p->req, 503, "Service Unavailable", "try again");
		report_free(p);
	} else if (c == NULL || strlen(c) != SMS_REPORT_CRED_LEN ||
	    sodium_memcmp(c, p->f.cred, SMS_REPORT_CRED_LEN) != 0)
		report_refused(p, "no such SMS, or a wrong credential");
	else if (u == NULL || now_ms() > strtoll(u, NULL, 10))
		report_refused(p, "after sms_report_timeout");
	else
		report_record(p);
}

void
ack_report(struct relay *relay, struct evhttp_request *req,
    const struct sms_gateway *gw, const char *query)
{
	struct ack_report *p = xcalloc(1, sizeof(*p));

	p->relay = relay;
	p->req = req;
	p->evcon = evhttp_request_get_connection(req);
	if (gw == NULL || gw->report_url == NULL ||
	    sms_report_parse(query, &p->f) != 0) {
		report_reply(req, 400, "Bad Request", "not a delivery report");
		report_free(p);
		return;
	}
	/* Not final (Kannel was asked for none such): nothing to do. */
	if (p->f.type == 0) {
		report_reply(req, 200, "OK", "ignored");
		report_free(p);
		return;
	}
	evhttp_connection_set_closecb(p->evcon, report_closed_cb, p);
	p->sreq = store_eval(relay->store, script_report_get,
	    json_pack("{s:s, s:s}", "aid", p->f.aid, "rid", p->f.rid),
	    report_check_cb, p);
}
