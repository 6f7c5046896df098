/*
 * The acknowledgement listener: its two listeners, HTTPS
 * acknowledgements and the answers to every acknowledgement (ack.h);
 * SMS replies from gateways are read in ack_sms.c.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "audit.h"
#include "ack.h"
#include "ack_hint.h"
#include "ack_inbox.h"
#include "ack_int.h"
#include "ack_limit.h"
#include "ack_notice.h"
#include "ack_parse.h"
#include "ack_rate.h"
#include "ack_report.h"
#include "ack_signed.h"
#include "dispatch.h"
#include "http_guard.h"
#include "refusal.h"
#include "http_json.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "sms_gateway.h"
#include "sms_template.h"
#include "stopjobs.h"
#include "store.h"
#include "store_scripts.h"
#include "util.h"
#include "xmalloc.h"

/* Lines an unauthenticated or flooding peer could repeat: once a
 * minute, not once per request. */
int
ack_log_due(struct ack *a, enum ack_log kind)
{
	int64_t now = now_ms();

	if (a->logged_ms[kind] != 0 &&
	    now - a->logged_ms[kind] < ACK_LOG_INTERVAL_MS)
		return 0;
	a->logged_ms[kind] = now;
	return 1;
}

/* A line (or record) that rid's token can repeat at will is due: once a
 * minute per recipient and kind (ack_quiet.h). */
static int
ack_quiet_line(struct ack *a, const char *rid, enum ack_quiet_kind kind,
    unsigned long long *left_out)
{
	if (a->quiet == NULL)
		a->quiet = ack_quiet_new();
	return ack_quiet_due(a->quiet, rid, kind, now_ms(), left_out);
}

void
ack_limit_conf(const struct relay_config *cfg, struct ack_limit_conf *c)
{
	c->number_burst = cfg->ack_sms_fail_burst;
	c->number_interval_s = cfg->ack_sms_fail_interval;
	c->gateway_burst = cfg->ack_gateway_fail_burst;
	c->gateway_interval_s = cfg->ack_gateway_fail_interval;
}

void
ack_error(struct evhttp_request *req, int code, const char *reason,
    const char *message)
{
	http_json_reply(req, code, reason,
	    json_pack("{s:s}", "error", message));
}

/* A 400 for a name refused in "by" or in a signed statement says so in
 * "code" (bad_name), for programs (alertconsole tells its operator the
 * account needs another name); "error" keeps the text older clients
 * read. */
static void
ack_bad_name(struct evhttp_request *req, const char *message)
{
	http_json_reply(req, 400, "Bad Request",
	    json_pack("{s:s, s:s}", "error", message, "code", "bad_name"));
}

/* The answer to a pending request, unless its client went away. */
static void
ack_pending_reply(struct ack_pending *p, int code, const char *reason,
    json_t *body)
{
	if (p->req == NULL) {
		json_decref(body);
		return;
	}
	evhttp_connection_set_closecb(p->evcon, NULL, NULL);
	http_json_reply(p->req, code, reason, body);
}

static void
ack_pending_error(struct ack_pending *p, int code, const char *reason,
    const char *message)
{
	ack_pending_reply(p, code, reason,
	    json_pack("{s:s}", "error", message));
}

/* A 409 says why in "code", for programs (alertconsole tells the
 * cancelled alert from a refused statement); "error" keeps the text
 * older clients read. */
static void
ack_conflict(struct ack_pending *p, const char *code, const char *message)
{
	ack_pending_reply(p, 409, "Conflict",
	    json_pack("{s:s, s:s}", "error", message, "code", code));
}

static void
ack_pending_free(struct ack_pending *p)
{
	TAILQ_REMOVE(&p->a->pending, p, entry);
	stopjobs_end(p->a->relay->stopjobs);
	json_decref(p->stmt);
	json_decref(p->owners);
	free(p);
}

/* The client went away: its request is freed by libevent, or, taken
 * off a connection that failed (EOF, timeout), left to us; either way
 * it gets no answer.  The script goes on (struct ack_pending). */
static void
ack_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct ack_pending *p = arg;

	(void)evcon;
	if (evhttp_request_get_connection(p->req) == NULL)
		evhttp_request_free(p->req);
	p->req = NULL;
	p->evcon = NULL;
}

/* An SMS reply that found its alert gives its tokens back. */
static void
ack_refund(struct ack_pending *p)
{
	struct ack_limit_conf c;

	if (p->gateway[0] == '\0' || p->a->limit == NULL)
		return;
	ack_limit_conf(p->a->relay->cfg, &c);
	ack_limit_refund(p->a->limit, &c, p->gateway, p->number, p->took,
	    now_ms());
}

/* An acknowledgement in the audit log: by whom, on which channel, from
 * which address (the SMS gateway's, for a reply by SMS). */
static void
ack_audit(struct ack_pending *p, const char *aid, const char *result,
    const char *why)
{
	char actor[ID_MAX + 16], object[ID_MAX + 8];

	snprintf(actor, sizeof(actor), "recipient:%s", p->rid);
	snprintf(object, sizeof(object), "alert:%s",
	    aid != NULL && alert_id_valid(aid) ? aid : "?");
	audit_relay(p->a->relay, "alert.ack", object, result,
	    p->addr[0] != '\0' ? p->addr : NULL, p->channel, actor, why);
}

/* The answer to an acknowledgement taken: 503 while too few replicas
 * have it (ack_done_ok). */
static void
ack_taken_reply(struct ack_pending *p, const char *aid, int first,
    const char *by, int durable)
{
	if (!durable)
		ack_pending_error(p, 503, "Service Unavailable", "try again");
	else
		ack_pending_reply(p, 200, "OK",
		    json_pack("{s:s, s:s, s:b, s:s}", "alert_id", aid, "state",
		        "acknowledged", "first", first, "by", by ? by : ""));
}

/* An acknowledgement the master took: counted, logged, audited, and
 * the one who took it by SMS hears that it worked.  With too few
 * replicas (durable 0) all of that still happens, since the person
 * acted and the master acts on it (escalation stops, the others hear
 * who took it), but the answer is 503: the retry (a gateway's, the
 * person's) finds it taken ("again") and is 200 once replicas have it.
 * The confirmation goes with the first, durable or not: sent only on a
 * durable answer, the person would never get one (the retry is never
 * the first).  A failover that loses it leaves the alert open there,
 * and its next tier fires (docs/RELIABILITY.md). */
static void
ack_done_ok(struct ack_pending *p, const json_t *reply, const char *r,
    int durable)
{
	const char *aid = json_string_value(json_object_get(reply, "aid"));
	const char *by = json_string_value(json_object_get(reply, "by"));
	const char *rms =
	    json_string_value(json_object_get(reply, "received_ms"));
	int drill = json_is_true(json_object_get(reply, "drill"));
	int first = strcmp(r, "first") == 0;

	ack_refund(p);
	if (rms != NULL && !drill)
		metrics_time_to_ack(
		    (now_ms() - strtoll(rms, NULL, 10)) / 1000.0);
	if (drill)
		metrics.drill_acknowledgements++;
	else
		metrics.acknowledgements++;
	log_info("acknowledged alert=%s recipient=%s channel=%s first=%d%s",
	    aid, p->rid, p->channel, first, durable ? "" : " unconfirmed");
	ack_audit(p, aid, durable ? "ok" : "unconfirmed",
	    first ? "first" : "again");
	if (first && p->ref[0] != '\0')
		ack_notice_send(p->a->notices, p->rid, p->gateway,
		    SMS_TPL_CONFIRMED, p->ref, drill);
	ack_taken_reply(p, aid, first, by, durable);
}

/* The same recipient and channel acknowledged again, after its first
 * repeat (script_ack wrote only its count, ack_repeats; the first
 * repeat, "noted", is logged and audited as any "again", for a retry
 * after a 503 says that the replicas have it): answered as the first
 * "again" is, no audit record, a log line once a minute per recipient,
 * counted.  An SMS repeat gives no failure
 * token back: the number's bucket (ack_limit.h) bounds them, as
 * nothing else would a sender repeating a reply. */
static void
ack_done_repeat(struct ack_pending *p, const json_t *reply, int durable)
{
	const char *aid = json_string_value(json_object_get(reply, "aid"));
	const char *by = json_string_value(json_object_get(reply, "by"));
	unsigned long long left = 0;

	metrics.ack_repeats++;
	if (ack_quiet_line(p->a, p->rid, ACK_QUIET_REPEAT, &left))
		log_info("acknowledged again alert=%s recipient=%s channel=%s "
		         "repeat=1; left_out=%llu",
		    aid, p->rid, p->channel, left);
	ack_taken_reply(p, aid, 0, by, durable);
}

/* A refusal a recipient's token can repeat at will (not on that alert,
 * a statement not matching): logged and audited once a minute per
 * recipient (ack_quiet.h), saying how many were left out. */
static void
ack_refused_quiet(struct ack_pending *p, enum ack_quiet_kind kind,
    const char *aid, const char *what, const char *reason)
{
	unsigned long long left = 0;

	if (!ack_quiet_line(p->a, p->rid, kind, &left))
		return;
	log_info("ack refused: recipient=%s channel=%s %s; left_out=%llu",
	    p->rid, p->channel, what, left);
	ack_audit(p, aid, "refused", reason);
}

/* err with a reply: the script ran, too few replicas have it yet
 * (store_eval_replicated()). */
static void
ack_done_cb(json_t *reply, const char *err, void *arg)
{
	struct ack_pending *p = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));
	const char *aid = json_string_value(json_object_get(reply, "aid"));
	const char *rid = json_string_value(json_object_get(reply, "rid"));
	int taken =
	    r != NULL && (strcmp(r, "first") == 0 || strcmp(r, "again") == 0);

	p->sreq = NULL; /* answered: freed */
	/* A number several recipients share: the one that took it. */
	if (rid != NULL && *rid != '\0' && strlen(rid) <= ID_MAX)
		snprintf(p->rid, sizeof(p->rid), "%s", rid);
	if (err != NULL)
		log_warnx("ack recipient=%s: %s", p->rid, err);
	if (taken && json_is_true(json_object_get(reply, "repeated")) &&
	    !json_is_true(json_object_get(reply, "noted")))
		ack_done_repeat(p, reply, err == NULL);
	else if (taken)
		ack_done_ok(p, reply, r, err == NULL);
	else if (reply == NULL || r == NULL || err != NULL) {
		if (err == NULL)
			log_warnx("ack recipient=%s: bad answer", p->rid);
		ack_refund(p); /* not the sender's fault */
		ack_pending_error(p, 503, "Service Unavailable", "try again");
	} else if (strcmp(r, "unknown") == 0) {
		/* No such alert, or not one this recipient was on: the same
		 * answer, so that it tells nothing of other people's. */
		ack_refused_quiet(p, ACK_QUIET_NOT_ON, NULL,
		    "not on that alert (or no such alert)",
		    "not on that alert");
		ack_pending_error(p, 404, "Not Found", "no such alert");
	} else if (strcmp(r, "mismatch") == 0) {
		ack_refused_quiet(p, ACK_QUIET_STATEMENT, aid,
		    "statement for another alert or envelope",
		    "statement mismatch");
		ack_conflict(p, "mismatch",
		    "statement does not match the alert");
	} else {
		ack_audit(p, aid, "refused", "cancelled");
		ack_refund(p);
		ack_conflict(p, "cancelled", "alert was cancelled");
	}
	ack_pending_free(p);
}

/* The script's refusals that wrote nothing (script_ack), answered
 * without WAIT.  "cancelled" wrote nothing either, but tells the person
 * the alert is closed, which may be a cancel the replicas do not have
 * yet (its device was told to try again): it waits, as the cancel's
 * "already" does.  "again" wrote an event, and is how a retry learns
 * that the first acknowledgement is on the replicas. */
static const char *const ack_at_once[] = {"unknown", "mismatch", NULL};

void
ack_submit(struct ack *a, struct evhttp_request *req,
    const struct recipient_entry *r, struct ack_pending *p, const char *aid,
    const char *ref)
{
	char now[RFC3339_LEN], *addr = NULL;
	ev_uint16_t port = 0;
	json_t *args;

	p->a = a;
	p->req = req;
	p->evcon = evhttp_request_get_connection(req);
	evhttp_connection_get_peer(p->evcon, &addr, &port);
	snprintf(p->addr, sizeof(p->addr), "%s", addr != NULL ? addr : "");
	TAILQ_INSERT_TAIL(&a->pending, p, entry);
	stopjobs_begin(a->relay->stopjobs);
	snprintf(p->rid, sizeof(p->rid), "%s", r->id);
	time_rfc3339_ms(now, now_ms());
	args = json_pack("{s:s, s:s, s:s, s:s}", "rid", r->id, "alias",
	    p->by[0] != '\0' ? p->by
	        : r->alias   ? r->alias
	                     : r->id,
	    "ch", p->channel, "now", now);
	json_object_set_new(args, aid ? "aid" : "ref",
	    json_string(aid ? aid : ref));
	if (aid != NULL) /* first deliveries not out yet read its state */
		dispatch_fresh_forget(a->relay->dispatch, aid);
	if (p->stmt != NULL) /* stored and passed on as it is */
		json_object_set_new(args, "st", p->stmt);
	p->stmt = NULL;
	if (p->owners != NULL)
		json_object_set_new(args, "owners", p->owners);
	p->owners = NULL;
	evhttp_connection_set_closecb(p->evcon, ack_closed_cb, p);
	/* with min_replicas: 503 unless replicas have it (a repeat is taken
	 * as "again") */
	p->sreq = store_eval_replicated(a->relay->store, script_ack, args,
	    a->relay->cfg->redis_min_replicas,
	    a->relay->cfg->redis_timeout * 1000, ack_at_once, ack_done_cb, p);
}

/* Compares against every token, so timing says nothing of which. */
static const struct recipient_entry *
ack_token_owner(const struct relay_config *cfg, const char *token)
{
	const struct recipient_entry *found = NULL;
	size_t i, n = strlen(token);

	for (i = 0; i < cfg->nrecipients; i++) {
		const char *t = cfg->recipients[i].ack_token;

		if (t != NULL && strlen(t) == n &&
		    sodium_memcmp(t, token, n) == 0)
			found = &cfg->recipients[i];
	}
	return found;
}

/* The recipient whose token the request carries; NULL, answered 401,
 * when none. */
static const struct recipient_entry *
ack_http_owner(struct ack *a, struct evhttp_request *req, const char *token)
{
	const struct recipient_entry *r;

	if (token == NULL ||
	    (r = ack_token_owner(a->relay->cfg, token)) == NULL) {
		if (ack_log_due(a, ACK_LOG_BAD_TOKEN)) {
			log_info("ack refused: missing or unknown token");
			/* budgeted like the log line: a flood must not
			 * fill the audit log */
			audit_relay(a->relay, "alert.ack", "alert:?", "refused",
			    NULL, "https", "?", "token");
		}
		ack_error(req, 401, "Unauthorized", "unknown token");
		return NULL;
	}
	return r;
}

/* 1 if r's token may make a request now; else answered 429, with a
 * short Retry-After (the bucket refills within seconds), and logged
 * once a minute per recipient with how many were refused, never
 * audited per request: a flood must not fill the audit log.  Before any
 * Redis work, which is what a flood with a leaked token would cost. */
static int
ack_rate_ok(struct ack *a, struct evhttp_request *req,
    const struct recipient_entry *r)
{
	const struct relay_config *cfg = a->relay->cfg;
	unsigned long long left = 0;
	long retry_s = 1;
	char retry[24];

	if (a->rate == NULL)
		a->rate = ack_rate_new();
	if (ack_rate_take(a->rate, r->id, cfg->ack_recipient_burst,
	        cfg->ack_recipient_rate, now_ms(), &retry_s))
		return 1;
	if (ack_quiet_line(a, r->id, ACK_QUIET_RATE, &left))
		log_info("ack refused: recipient=%s over recipient_rate "
		         "(429); left_out=%llu",
		    r->id, left);
	snprintf(retry, sizeof(retry), "%ld", retry_s);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
	    retry);
	http_json_reply(req, 429, "Too Many Requests",
	    json_pack("{s:s, s:s}", "error", "too many requests, try again",
	        "code", "rate_limited"));
	return 0;
}

/* POST /v1/alerts/{id}/ack.  Whether the token's owner was on that
 * alert is the ack script's to check, atomically with the change. */
static void
ack_http(struct ack *a, struct evhttp_request *req, const char *path)
{
	const char *token = ack_parse_bearer(
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	        "Authorization"));
	const struct recipient_entry *r;
	struct ack_pending *p;
	char aid[33] = "", ref[ACK_REF_LEN + 1] = "";
	char by[ACK_BY_MAX + 1], body[ACK_BODY_MAX];
	const char *why, *sby;
	json_t *stmt;
	size_t len;
	int named;
	enum ack_signed_result signed_rc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		ack_error(req, 405, "Method Not Allowed", "POST only");
		return;
	}
	/* By its id, or by the reference people read in an SMS or on the
	 * receiver: the same check that the token's owner was on it. */
	if (ack_parse_alert_path(path, aid) != 0 &&
	    ack_parse_ref_path(path, ref) != 0) {
		ack_error(req, 404, "Not Found", "no such alert");
		return;
	}
	if ((r = ack_http_owner(a, req, token)) == NULL ||
	    !ack_rate_ok(a, req, r))
		return;
	/* A console names its operator: the receipt says who it was. */
	len = evbuffer_copyout(evhttp_request_get_input_buffer(req), body,
	    sizeof(body));
	_Static_assert(ACK_BY_MAX == 64, "the answer below says 64");
	if ((named = ack_parse_by(body, len, by)) == -2) {
		ack_bad_name(req,
		    "by must be 1 to 64 bytes without control characters, "
		    "bidi overrides or isolates");
		return;
	}
	if (named < 0) {
		ack_error(req, 400, "Bad Request",
		    "body must be {\"by\":NAME} in UTF-8");
		return;
	}
	if ((signed_rc = ack_signed_parse(body, len, r->id,
	         aid[0] != '\0' ? aid : NULL, a->relay->cfg->dir, &stmt,
	         &why)) == ACK_SIGNED_BAD ||
	    signed_rc == ACK_SIGNED_BAD_NAME) {
		unsigned long long left = 0;

		if (ack_quiet_line(a, r->id, ACK_QUIET_STATEMENT, &left))
			log_info("ack refused: recipient=%s: %s; left_out=%llu",
			    r->id, why, left);
		if (signed_rc == ACK_SIGNED_BAD_NAME)
			ack_bad_name(req, why);
		else
			ack_error(req, 400, "Bad Request", why);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->stmt = stmt;
	snprintf(p->channel, sizeof(p->channel), "https");
	/* The statement names the operator when the body does not. */
	if (named != 0 && stmt != NULL &&
	    (sby = json_string_value(json_object_get(stmt, "by"))) != NULL &&
	    *sby != '\0' && strlen(sby) <= ACK_BY_MAX) {
		snprintf(by, sizeof(by), "%s", sby);
		named = 0;
	}
	if (named == 0)
		snprintf(p->by, sizeof(p->by), "%s (%s)", by,
		    r->alias ? r->alias : r->id);
	if (ref[0] != '\0')
		ack_submit(a, req, r, p, NULL, ref);
	else
		ack_submit(a, req, r, p, aid, NULL);
}

/* GET /v1/inbox: the recipient's own open and acknowledged alerts. */
static void
ack_inbox_http(struct ack *a, struct evhttp_request *req, const char *query)
{
	const char *token = ack_parse_bearer(
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	        "Authorization"));
	const struct recipient_entry *r;

	/* The inbox script is bounded work, but nothing else bounds how
	 * often a token asks for it: the same bucket as acknowledgements. */
	if ((r = ack_http_owner(a, req, token)) != NULL &&
	    ack_rate_ok(a, req, r))
		ack_inbox(a->relay, req, r, query);
}

#define ACK_REPORT_SUFFIX "/report"

/* /v1/sms/<gateway>/report: a delivery report (ack_report.h). */
static int
ack_report_path(const char *path)
{
	size_t n = strlen(path), m = strlen(ACK_REPORT_SUFFIX);

	return n > 8 + m && strcmp(path + n - m, ACK_REPORT_SUFFIX) == 0;
}

static const struct sms_gateway *
ack_report_gateway(const struct relay_config *cfg, const char *path)
{
	char name[ID_MAX + 1];
	size_t n =
	    strlen(path) - strlen("/v1/sms/") - strlen(ACK_REPORT_SUFFIX);

	if (n > ID_MAX)
		return NULL;
	memcpy(name, path + strlen("/v1/sms/"), n);
	name[n] = '\0';
	return relay_config_gateway(cfg, name);
}

/* plain: the loopback listener, the SMS gateway's alone.  Delivery
 * reports are taken there only: on the public HTTPS listener each
 * would cost a Redis script with no failure bucket in front of it. */
static void
ack_request(struct ack *a, struct evhttp_request *req, int plain)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (path == NULL)
		ack_error(req, 400, "Bad Request", "bad request");
	else if (a->relay->stopping || !store_ready(a->relay->store))
		/* stopping: on a connection opened before the stop
		 * (ack_stop); the client tries again, elsewhere or after the
		 * restart */
		ack_error(req, 503, "Service Unavailable", "try again");
	else if (strncmp(path, "/v1/alerts/", 11) == 0)
		ack_http(a, req, path);
	else if (strcmp(path, "/v1/inbox") == 0)
		ack_inbox_http(a, req, evhttp_uri_get_query(uri));
	else if (strncmp(path, "/v1/sms/", 8) == 0 && ack_report_path(path)) {
		if (plain) /* reports on the loopback listener only */
			ack_report(a->relay, req,
			    ack_report_gateway(a->relay->cfg, path),
			    evhttp_uri_get_query(uri));
		else
			ack_error(req, 404, "Not Found", "no such path");
	} else if (strncmp(path, "/v1/sms/", 8) == 0)
		ack_sms(a, req, path, evhttp_uri_get_query(uri));
	else
		ack_error(req, 404, "Not Found", "no such path");
}

static void
ack_https_cb(struct evhttp_request *req, void *arg)
{
	ack_request(arg, req, 0);
}

static void
ack_plain_cb(struct evhttp_request *req, void *arg)
{
	ack_request(arg, req, 1);
}

static struct bufferevent *
ack_tls_bev_cb(struct event_base *base, void *arg)
{
	struct ack *a = arg;
	SSL *ssl = SSL_new(a->relay->ssl_ctx);

	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static struct evhttp *
ack_bind(struct ack *a, const char *addr, int tls)
{
	struct evhttp *http;
	struct http_guard *g;
	struct http_guard_hooks hooks;
	struct http_limits lim;
	char *host;
	int port;

	if (hostport_parse(addr, &host, &port) != 0)
		return NULL;
	http = evhttp_new(a->relay->base);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_timeout(http, 10);
	/* The guard sets the bevcb and gencb, and the request's limits. */
	refusal_hooks(tls ? LISTENER_ACK : LISTENER_ACK_PLAIN, &hooks);
	lim = a->relay->cfg->ack_limits;
	/* The HTTPS listener faces the internet: at its cap a newcomer (a
	 * contact point acknowledging) takes the place of an unfinished
	 * request of the address holding the most, rather than waiting
	 * until clients holding every place reach request_timeout.  The
	 * plain one is on loopback, for the SMS gateway alone. */
	lim.evict = tls;
	g = http_guard_new(a->relay->base, http, &lim, &hooks,
	    tls ? ack_tls_bev_cb : NULL, a, tls ? ack_https_cb : ack_plain_cb,
	    a);
	http_guard_set_max_request(g, 8192, ACK_BODY_MAX);
	if (http_guard_bind(g, host, port) == NULL) {
		log_warn("ack listen on %s", addr);
		http_guard_free(g);
		evhttp_free(http);
		http = NULL;
	} else {
		log_info("ack listening on %s (%s)", addr,
		    tls ? "https" : "http, loopback");
		*(tls ? &a->https_guard : &a->plain_guard) = g;
	}
	free(host);
	return http;
}

int
ack_open(struct relay *relay, struct ack **out)
{
	const struct relay_config *cfg = relay->cfg;
	struct ack *a;

	*out = NULL;
	if (cfg->ack_listen[0] == '\0' && cfg->ack_listen_plain[0] == '\0')
		return 0;
	a = xcalloc(1, sizeof(*a));
	a->relay = relay;
	TAILQ_INIT(&a->pending);
	a->notices = ack_notices_new(relay);
	if ((cfg->ack_listen[0] != '\0' &&
	        (a->https = ack_bind(a, cfg->ack_listen, 1)) == NULL) ||
	    (cfg->ack_listen_plain[0] != '\0' &&
	        (a->plain = ack_bind(a, cfg->ack_listen_plain, 0)) == NULL)) {
		ack_close(a);
		return -1;
	}
	*out = a;
	return 0;
}

void
ack_stop(struct ack *a)
{
	if (a == NULL)
		return;
	http_guard_unbind(a->https_guard);
	http_guard_unbind(a->plain_guard);
	log_info("stopping: ack listeners closed; acknowledgements are left "
	         "to other instances or the next start");
}

void
ack_close(struct ack *a)
{
	if (a == NULL)
		return;
	http_guard_free(a->https_guard);
	http_guard_free(a->plain_guard);
	if (a->https != NULL)
		evhttp_free(a->https);
	if (a->plain != NULL)
		evhttp_free(a->plain);
	/* Their connections are gone by now.  Still waiting for Redis
	 * after the stop's wait for them (stopjobs.h), they are said in the
	 * log, not audited: what Redis did is not known. */
	while (!TAILQ_EMPTY(&a->pending)) {
		log_warnx("ack recipient=%s channel=%s outcome=unknown: the "
		          "relay stopped first",
		    TAILQ_FIRST(&a->pending)->rid,
		    TAILQ_FIRST(&a->pending)->channel);
		store_req_cancel(TAILQ_FIRST(&a->pending)->sreq);
		ack_pending_free(TAILQ_FIRST(&a->pending));
	}
	ack_sms_close(a);
	ack_limit_free(a->limit);
	ack_hint_free(a->hints);
	ack_quiet_free(a->quiet);
	ack_rate_free(a->rate);
	ack_notices_free(a->notices);
	free(a);
}
