/*
 * The console's acknowledgements to the relay (console_ack.h).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <sodium.h>

#include "ack_conflict.h"
#include "ack_sign.h"
#include "console.h"
#include "console_ack.h"
#include "console_db.h"
#include "console_events.h"
#include "console_metrics.h"
#include "console_users.h"
#include "console_work.h"
#include "http_client.h"
#include "keyfile.h"
#include "log.h"
#include "seckey.h"
#include "xmalloc.h"

struct console_ack_req {
	TAILQ_ENTRY(console_ack_req) entry;
	struct console_ack *a;
	struct console *c;
	struct evhttp_request *req; /* NULL once the page went */
	struct http_req *hreq;
	struct event *retry; /* after the relay's 429, or NULL */
	int tries; /* made so far */
	char alert_id[33];
	char name[CONSOLE_NAME_MAX + 1];
	/* the start of the relay's answer: its 409 may be a cancelled
	 * alert or a refused statement (ack_conflict.h), and only the
	 * first is told as cancelled; the alert may be open otherwise */
	char answer[256];
};

struct console_ack {
	struct event_base *base;
	struct http_client *http;
	TAILQ_HEAD(, console_ack_req) reqs;
};

struct console_ack *
console_ack_new(struct event_base *base)
{
	struct console_ack *a = xcalloc(1, sizeof(*a));

	a->base = base;
	a->http = http_client_new(base);
	TAILQ_INIT(&a->reqs);
	return a;
}

static void
console_ack_done_free(struct console_ack_req *q)
{
	console_http_on_close(q->req, NULL, NULL);
	TAILQ_REMOVE(&q->a->reqs, q, entry);
	if (q->retry != NULL)
		event_free(q->retry);
	free(q);
}

void
console_ack_free(struct console_ack *a)
{
	struct console_ack_req *q;

	if (a == NULL)
		return;
	while ((q = TAILQ_FIRST(&a->reqs)) != NULL) {
		http_req_cancel(q->hreq);
		console_ack_done_free(q);
	}
	http_client_free(a->http);
	free(a);
}

int
console_ack_tokens(struct console *c)
{
	char err[512];
	size_t i;

	for (i = 0; i < c->cfg.nrcpt; i++) {
		struct console_recipient *r = &c->cfg.rcpt[i];

		if (r->ack_token_file == NULL)
			continue;
		if (keyfile_read_text(r->ack_token_file, 1, &r->ack_token, err,
		        sizeof(err)) != 0) {
			log_warnx("[recipient %s] ack_token_file: %s", r->id,
			    err);
			return -1;
		}
		if (r->ack_sign_key_file != NULL &&
		    (r->ack_sign_sk = ack_sign_key_load(r->ack_sign_key_file,
		         err, sizeof(err))) == NULL) {
			log_warnx("[recipient %s] ack_sign_key: %s", r->id,
			    err);
			return -1;
		}
	}
	return 0;
}

void
console_ack_tokens_clear(struct console *c)
{
	size_t i;

	for (i = 0; i < c->cfg.nrcpt; i++) {
		char *t = c->cfg.rcpt[i].ack_token;

		seckey_free(c->cfg.rcpt[i].ack_sign_sk);
		c->cfg.rcpt[i].ack_sign_sk = NULL;
		if (t == NULL)
			continue;
		sodium_memzero(t, strlen(t));
		free(t);
		c->cfg.rcpt[i].ack_token = NULL;
	}
}

static void
console_ack_answer(struct console_ack_req *q, int status, const char *why,
    json_t *body)
{
	if (q->req != NULL)
		console_http_json(q->req, status, why, body);
	else
		json_decref(body);
}

/* The relay's 400 for an operator's name it refuses in "by" (a bidi
 * override, isolate or C1 control: an account made before `alertconsole
 * user add` refused such names), unsigned or in a signed statement
 * (daemon/ack.c, daemon/ack_signed.c): "code":"bad_name".  A relay of
 * before that code said it only in these English texts, kept as the
 * fallback for it alone.  Only compared, never shown: the operator
 * reads the console's own words. */
static const char *const console_ack_name_errors[] = {
    "by must be 1 to 64 bytes without control characters, bidi overrides "
    "or isolates",
    "statement by must be a name without control characters, bidi "
    "overrides or isolates",
};

static int
console_ack_name_refused(const char *answer)
{
	json_t *o = json_loads(answer, 0, NULL);
	const char *e = json_string_value(json_object_get(o, "error"));
	const char *code = json_string_value(json_object_get(o, "code"));
	size_t i;
	int refused = code != NULL && strcmp(code, "bad_name") == 0;

	for (i = 0; !refused && code == NULL && e != NULL &&
	     i < sizeof(console_ack_name_errors) /
	             sizeof(console_ack_name_errors[0]);
	     i++)
		refused |= strcmp(e, console_ack_name_errors[i]) == 0;
	json_decref(o);
	return refused;
}

static void console_ack_gone(struct evhttp_connection *conn, void *arg);
static void console_ack_retry(evutil_socket_t fd, short what, void *arg);

/* The relay's 429: its recipient's bucket is empty (a flood with the
 * contact point's leaked token, most likely), refilling within seconds.
 * Tried again a few times after its Retry-After; 1 when a try is
 * scheduled. */
static int
console_ack_again(struct console_ack_req *q)
{
	struct timeval tv = {CONSOLE_ACK_429_WAIT_S, 0};

	if (q->tries >= CONSOLE_ACK_429_TRIES)
		return 0;
	q->hreq = NULL; /* answered: freed */
	if (q->retry == NULL)
		q->retry = evtimer_new(q->a->base, console_ack_retry, q);
	evtimer_add(q->retry, &tv);
	console_http_on_close(q->req, console_ack_gone, q);
	return 1;
}

/* The relay answered (or not).  The acknowledgement is written to the
 * timeline whether or not the page is still there to hear it. */
static void
console_ack_done(long status, const char *error, void *arg)
{
	struct console_ack_req *q = arg;
	char ln[CONSOLE_LOG_NAME];

	/* Before the answer: once it is sent, evhttp may free the request
	 * (and its connection's callback must not fire on a freed q). */
	console_http_on_close(q->req, NULL, NULL);
	if (status == 200) {
		log_info("acknowledged alert=%s operator=\"%s\"", q->alert_id,
		    console_log_name(q->name, ln));
		if (console_work_note_action(q->c, q->alert_id, "acknowledged",
		        q->name, "console") == 0)
			console_metrics_note(q->c, q->alert_id,
			    CONSOLE_METRICS_ACKED);
		if (q->c->events != NULL)
			console_events_alert(q->c->events, q->alert_id);
		console_ack_answer(q, 200, "OK",
		    json_pack("{s:b}", "acknowledged", 1));
	} else if (status == 409 &&
	    ack_conflict_cancelled(q->answer, strlen(q->answer))) {
		log_warnx("ack of alert=%s refused: cancelled", q->alert_id);
		console_ack_answer(q, 409, "Conflict",
		    json_pack("{s:s}", "error", "cancelled"));
	} else if (status == 400 && console_ack_name_refused(q->answer)) {
		/* no use trying again: the account needs another name */
		log_warnx("ack of alert=%s refused by the relay: the "
		          "operator's "
		          "name has a bidi override, isolate or C1 control; "
		          "add the account again under another name "
		          "(alertconsole user add, then user remove)",
		    q->alert_id);
		console_ack_answer(q, 502, "Bad Gateway",
		    json_pack("{s:s}", "error", "name_refused"));
	} else if (status == 429 && console_ack_again(q)) {
		return;
	} else if (status == 429) {
		log_warnx("ack of alert=%s refused by the relay: 429 after %d "
		          "tries, it limits the contact point's token "
		          "(recipient_rate; a flood with a leaked token?)",
		    q->alert_id, q->tries);
		console_ack_answer(q, 503, "Service Unavailable",
		    json_pack("{s:s}", "error", "rate_limited"));
	} else if (status != 0) {
		log_warnx("ack of alert=%s refused by the relay: HTTP %ld",
		    q->alert_id, status);
		console_ack_answer(q, 502, "Bad Gateway",
		    json_pack("{s:s, s:i}", "error", "refused", "status",
		        (int)status));
	} else {
		log_warnx("ack of alert=%s: relay not reached: %s", q->alert_id,
		    error ? error : "?");
		console_ack_answer(q, 504, "Gateway Timeout",
		    json_pack("{s:s}", "error", "unreachable"));
	}
	q->req = NULL; /* answered: evhttp's to free now */
	console_ack_done_free(q);
}

/* The page's connection closed while the relay was asked: the ack goes
 * on (and onto the timeline), the answer goes nowhere; the request is
 * freed once, by libevent or by console_http_gone. */
static void
console_ack_gone(struct evhttp_connection *conn, void *arg)
{
	struct console_ack_req *q = arg;

	(void)conn;
	console_http_gone(&q->req);
}

static struct console_recipient *
console_ack_recipient(struct console *c, const char *alert_id)
{
	char rid[128];

	if (console_work_recipient(c, alert_id, rid, sizeof(rid)) != 0)
		return NULL;
	return console_config_find(&c->cfg, rid);
}

/* The stored webhook of the alert names the hash of its envelope. */
static void
console_ack_hash_row(void *arg, const struct console_db_alert *a)
{
	char *hash = arg;
	json_t *o = json_loadb(a->body, a->bodylen, 0, NULL);
	const char *h =
	    json_string_value(json_object_get(o, "envelope_sha256"));

	if (h != NULL && strlen(h) == 64 && hash[0] == '\0')
		memcpy(hash, h, 65);
	json_decref(o);
}

/* {"by":NAME,"statement":{...}} signed with the recipient's key, or
 * NULL (then the relay gets {"by":NAME}, and the official's device
 * shows the acknowledgement as the relay's word only). */
static char *
console_ack_signed(struct console_ack_req *q, const struct console_recipient *r)
{
	struct ack_sign_req sq;
	char hash[65] = "", err[256], *body;

	if (r->ack_sign_sk == NULL)
		return NULL;
	if (console_db_alerts(q->c->db, q->alert_id, console_ack_hash_row,
	        hash) != 0 ||
	    hash[0] == '\0') {
		log_warnx("ack of alert=%s: no envelope hash stored (a relay "
		          "of before signed acknowledgements): sent unsigned",
		    q->alert_id);
		return NULL;
	}
	memset(&sq, 0, sizeof(sq));
	sq.alert_id = q->alert_id;
	sq.envelope_sha256 = hash;
	sq.recipient = r->id;
	sq.by = q->name;
	if ((body = ack_sign_body(&sq, r->ack_sign_sk, err, sizeof(err))) ==
	    NULL)
		log_warnx("ack of alert=%s: not signed: %s", q->alert_id, err);
	return body;
}

static void
console_ack_post(struct console_ack_req *q, const struct console_recipient *r)
{
	struct http_post_args a;
	char *url, *auth, *body;
	const char *headers[2];
	size_t len = strlen(r->ack_url);
	json_t *by;

	while (len > 8 && r->ack_url[len - 1] == '/')
		len--;
	url = xasprintf("%.*s/v1/alerts/%s/ack", (int)len, r->ack_url,
	    q->alert_id);
	auth = xasprintf("Authorization: Bearer %s", r->ack_token);
	if ((body = console_ack_signed(q, r)) == NULL) {
		by = json_pack("{s:s}", "by", q->name);
		body = by != NULL ? json_dumps(by, JSON_COMPACT) : NULL;
		json_decref(by);
	}
	headers[0] = auth;
	headers[1] = "Content-Type: application/json";
	memset(&a, 0, sizeof(a));
	a.url = url;
	a.headers = headers;
	a.nheaders = 2;
	a.body = body != NULL ? body : "{}";
	a.bodylen = strlen(a.body);
	a.connect_timeout_ms = CONSOLE_ACK_CONNECT_MS;
	a.timeout_ms = CONSOLE_ACK_TIMEOUT_MS;
	a.pin = r->ack_pin;
	a.cainfo = r->ack_cacert;
	a.answer = q->answer;
	a.answerlen = sizeof(q->answer);
	q->tries++;
	q->hreq = http_post(q->a->http, &a, console_ack_done, q);
	sodium_memzero(auth, strlen(auth));
	free(auth);
	free(body);
	free(url);
}

/* The next try after a 429, to the recipient's relay as configured now
 * (a reload may have changed it). */
static void
console_ack_retry(evutil_socket_t fd, short what, void *arg)
{
	struct console_ack_req *q = arg;
	struct console_recipient *r = console_ack_recipient(q->c, q->alert_id);

	(void)fd;
	(void)what;
	if (r == NULL || r->ack_url == NULL || r->ack_token == NULL) {
		console_http_on_close(q->req, NULL, NULL);
		console_ack_answer(q, 501, "Not Implemented",
		    json_pack("{s:s}", "error", "no ack_url"));
		q->req = NULL;
		console_ack_done_free(q);
		return;
	}
	console_ack_post(q, r);
}

void
console_ack_send(struct console *c, struct evhttp_request *req,
    const char *alert_id, const char *name)
{
	struct console_recipient *r = console_ack_recipient(c, alert_id);
	struct console_ack_req *q;

	if (r == NULL || r->ack_url == NULL || r->ack_token == NULL) {
		console_http_json(req, 501, "Not Implemented",
		    json_pack("{s:s}", "error", "no ack_url"));
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->a = c->ack;
	q->c = c;
	q->req = req;
	snprintf(q->alert_id, sizeof(q->alert_id), "%s", alert_id);
	snprintf(q->name, sizeof(q->name), "%s", name);
	TAILQ_INSERT_TAIL(&c->ack->reqs, q, entry);
	console_http_on_close(req, console_ack_gone, q);
	console_ack_post(q, r);
}
