/*
 * SMS delivery reports on the ack listener (ack_report.h): the report's
 * query checked, its credential compared with Redis's, then the report
 * recorded (script_report).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
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
	char aid[33];
	char rid[ID_MAX + 1];
	char cred[SMS_REPORT_CRED_LEN + 1];
	int type;
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
	sodium_memzero(p->cred, sizeof(p->cred));
	free(p);
}

static void
report_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct ack_report *p = arg;

	(void)evcon;
	store_req_cancel(p->sreq);
	sodium_memzero(p->cred, sizeof(p->cred));
	free(p);
}

static void
report_done_cb(json_t *reply, const char *err, void *arg)
{
	struct ack_report *p = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));

	p->sreq = NULL;
	if (r == NULL) {
		log_warnx("sms report alert=%s recipient=%s: %s", p->aid,
		    p->rid, err ? err : "bad answer");
		report_reply(p->req, 503, "Service Unavailable", "try again");
	} else {
		log_info("sms report alert=%s recipient=%s type=%d: %s", p->aid,
		    p->rid, p->type, r);
		report_reply(p->req, 200, "OK", r);
	}
	report_free(p);
}

static const struct recipient_entry *
report_recipient(const struct ack_report *p)
{
	return relay_config_recipient(p->relay->cfg, p->rid);
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
	    p->aid, "rid", p->rid, "c", p->cred, "alias",
	    re != NULL && re->alias != NULL ? re->alias : p->rid, "now", now,
	    "now_ms", ms, "delivered", p->type == SMS_REPORT_DELIVERED,
	    "reason",
	    p->type == SMS_REPORT_FAILED
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
		log_warnx("sms report alert=%s: %s", p->aid, err);
		report_reply(p->req, 503, "Service Unavailable", "try again");
		report_free(p);
	} else if (c == NULL || strlen(c) != SMS_REPORT_CRED_LEN ||
	    sodium_memcmp(c, p->cred, SMS_REPORT_CRED_LEN) != 0)
		report_refused(p, "no such SMS, or a wrong credential");
	else if (u == NULL || now_ms() > strtoll(u, NULL, 10))
		report_refused(p, "after sms_report_timeout");
	else
		report_record(p);
}

/* The query's fields, checked before Redis is asked: 0, or -1. */
static int
report_parse(const char *query, struct ack_report *p)
{
	struct evkeyvalq q;
	const char *a, *r, *c;
	int rc = -1;

	TAILQ_INIT(&q);
	if (query == NULL || evhttp_parse_query_str(query, &q) != 0) {
		evhttp_clear_headers(&q);
		return -1;
	}
	a = evhttp_find_header(&q, "a");
	r = evhttp_find_header(&q, "r");
	c = evhttp_find_header(&q, "c");
	p->type = sms_report_type(evhttp_find_header(&q, "type"));
	if (a != NULL && alert_id_valid(a) && r != NULL && id_valid(r) &&
	    sms_report_cred_valid(c)) {
		snprintf(p->aid, sizeof(p->aid), "%s", a);
		snprintf(p->rid, sizeof(p->rid), "%s", r);
		memcpy(p->cred, c, SMS_REPORT_CRED_LEN + 1);
		rc = 0;
	}
	evhttp_clear_headers(&q);
	return rc;
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
	    report_parse(query, p) != 0) {
		report_reply(req, 400, "Bad Request", "not a delivery report");
		report_free(p);
		return;
	}
	/* Not final (Kannel was asked for none such): nothing to do. */
	if (p->type == 0) {
		report_reply(req, 200, "OK", "ignored");
		report_free(p);
		return;
	}
	evhttp_connection_set_closecb(p->evcon, report_closed_cb, p);
	p->sreq = store_eval(relay->store, script_report_get,
	    json_pack("{s:s, s:s}", "aid", p->aid, "rid", p->rid),
	    report_check_cb, p);
}
