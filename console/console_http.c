/*
 * The console's HTTP server (libevent's evhttp): the recipients'
 * webhook endpoints (POST /hook/<recipient id>, on listen or on their
 * own webhook_listen), the read API, the event streams and the page.
 * Which addresses are allowed is console_listener.c's.  Every answer
 * carries the security headers.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <sodium.h>

#include "console.h"
#include "console_events.h"
#include "console_ack.h"
#include "console_export.h"
#include "console_auth.h"
#include "console_host.h"
#include "console_listener.h"
#include "console_map.h"
#include "console_metrics.h"
#include "console_route.h"
#include "console_static.h"
#include "log.h"
#include "log_budget.h"

struct console_http {
	struct console *c;
	struct event_base *base;
	struct console_listener page, hooks; /* hooks: webhook_listen */
	struct console_listener metrics; /* metrics_listen */
	struct event *sigint, *sigterm;
	struct console_hosts hosts; /* which Host the page answers */
};

/* The page runs only its own script and style, in no frame, and tells
 * nobody where it was; images come from the map's tile server only
 * when one is configured (console_map.h). */
void
console_http_headers(struct evhttp_request *req, const char *type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Content-Security-Policy", console_map_csp());
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cache-Control", "no-store");
}

static void
console_http_text(struct evhttp_request *req, int status, const char *why,
    const char *text)
{
	struct evbuffer *out = evbuffer_new();

	if (out != NULL)
		evbuffer_add_printf(out, "%s\n", text);
	console_http_headers(req, "text/plain; charset=utf-8");
	evhttp_send_reply(req, status, why, out);
	if (out != NULL)
		evbuffer_free(out);
}

/* The decrypted alerts in a JSON answer are wiped once handed over. */
void
console_http_json(struct evhttp_request *req, int status, const char *why,
    json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = body != NULL
	    ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15))
	    : NULL;

	json_decref(body);
	if (out != NULL && text != NULL)
		evbuffer_add_printf(out, "%s\n", text);
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	console_http_headers(req, "application/json");
	evhttp_send_reply(req, status, why, out);
	if (out != NULL)
		evbuffer_free(out);
}

int
console_refusal_log(void)
{
	static struct log_budget b = {"refused requests", 0, 0, 0};

	return log_budget_take(&b);
}

static const char *
console_http_why(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 421:
		return "Misdirected Request";
	case 422:
		return "Unprocessable Content";
	case 423:
		return "Locked";
	case 429:
		return "Too Many Requests";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

void
console_http_on_close(struct evhttp_request *req,
    void (*cb)(struct evhttp_connection *, void *), void *arg)
{
	struct evhttp_connection *evcon;

	/* A request cut loose from its connection (see console_http_gone)
	 * has no close callback left to set. */
	if (req != NULL && (evcon = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_set_closecb(evcon, cb, arg);
}

/* Which of the two owns the request when its connection closes before
 * the answer depends on where libevent noticed the close.  libevent 2.1
 * (evhttp_connection_incoming_fail) cuts an unanswered request loose on
 * EOF or timeout: it takes the request off the connection, sets its
 * connection to NULL, then frees the connection (calling us) and not the
 * request, which is then ours to free: forgotten, it would leak.  A
 * request still on its connection (evhttp_free at shutdown) is freed by
 * libevent with the connection right after this callback: freed here
 * too, it would be freed twice.  Asking the request tells the two apart
 * whatever the order of libevent's steps; either way the pending work
 * forgets it, so that its answer never goes to a freed request. */
void
console_http_gone(struct evhttp_request **reqp)
{
	struct evhttp_request *req = *reqp;

	*reqp = NULL;
	if (req != NULL && evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
}

void
console_http_error(struct evhttp_request *req, int status, const char *error)
{
	console_http_json(req, status, console_http_why(status),
	    json_pack("{s:s}", "error", error));
}

/* A webhook to one recipient: the checks of `alertctl receive`
 * (client/hook.c), then the store's commit, then the answer. */
static void
console_http_hook(struct console_http *h, struct evhttp_request *req,
    struct console_recipient *r)
{
	struct evkeyvalq *in_h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct hook_request hr;
	struct hook_reply reply;

	(void)h;
	memset(&hr, 0, sizeof(hr));
	hr.id = evhttp_find_header(in_h, "webhook-id");
	hr.timestamp = evhttp_find_header(in_h, "webhook-timestamp");
	hr.signature = evhttp_find_header(in_h, "webhook-signature");
	hr.bodylen = evbuffer_get_length(in);
	hr.body = hr.bodylen > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	hook_handle(&r->hook, &hr, &reply);
	console_http_text(req, reply.status, console_http_why(reply.status),
	    reply.reason);
}

/* JSON text (taken), or the status in its place; the decrypted alerts
 * are wiped from memory once handed to libevent. */
void
console_http_json_text(struct evhttp_request *req, char *text, int status)
{
	struct evbuffer *out;

	if (text == NULL || (out = evbuffer_new()) == NULL) {
		free(text);
		if (status == 200)
			status = 500;
		console_http_text(req, status, console_http_why(status),
		    status == 500 ? "cannot list the alerts" : "bad request");
		return;
	}
	evbuffer_add(out, text, strlen(text));
	sodium_memzero(text, strlen(text));
	free(text);
	console_http_headers(req, "application/json");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* GET /api/alerts. */
void
console_http_alerts(struct console *c, struct evhttp_request *req)
{
	console_http_json_text(req, console_api_alerts(c), 200);
}

static void
console_http_static(struct evhttp_request *req,
    const struct console_static_file *f)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_reference(out, f->data, f->len, NULL, NULL);
	console_http_headers(req, f->type);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static struct console_recipient *
console_http_recipient(struct console_http *h, const char *path)
{
	size_t i;

	for (i = 0; i < h->c->cfg.nrcpt; i++)
		if (strcmp(h->c->cfg.rcpt[i].path, path) == 0)
			return &h->c->cfg.rcpt[i];
	return NULL;
}

static void
console_http_request(struct evhttp_request *req, void *arg)
{
	struct console_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct console_static_file *f;
	struct console_recipient *r;

	if (path == NULL || path[0] == '\0')
		path = "/";
	/* Webhooks on this listener are taken whatever the Host: their
	 * signatures say who sent them. */
	if (!(cmd == EVHTTP_REQ_POST && h->c->cfg.webhook_listen == NULL &&
	        console_http_recipient(h, path) != NULL) &&
	    console_host_check(&h->hosts, req) != 0) {
		console_http_error(req, 421, "misdirected");
		return;
	}
	if (strncmp(path, "/api/", 5) == 0)
		console_route_api(h->c, req, path);
	else if (cmd == EVHTTP_REQ_POST) {
		/* Webhooks here only when they have no listener of their own.
		 */
		if (h->c->cfg.webhook_listen == NULL &&
		    (r = console_http_recipient(h, path)) != NULL)
			console_http_hook(h, req, r);
		else
			console_http_text(req, 404, "Not Found", "not found");
	} else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		if (console_refusal_log())
			log_warnx("refused request: 405 method not allowed");
		console_http_text(req, 405, "Method Not Allowed",
		    "not allowed");
	} else if ((f = console_static_find(path)) != NULL)
		console_http_static(req, f);
	else
		console_http_text(req, 404, "Not Found", "not found");
}

/* webhook_listen: POST /hook/<recipient id> and nothing else. */
static void
console_http_webhook_request(struct evhttp_request *req, void *arg)
{
	struct console_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct console_recipient *r;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		if (console_refusal_log())
			log_warnx("refused request: 405 method not allowed");
		console_http_text(req, 405, "Method Not Allowed", "only POST");
	} else if (path == NULL ||
	    (r = console_http_recipient(h, path)) == NULL)
		console_http_text(req, 404, "Not Found", "not found");
	else
		console_http_hook(h, req, r);
}

/* metrics_listen: GET /metrics and nothing else. */
static void
console_http_metrics_request(struct evhttp_request *req, void *arg)
{
	struct console_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
		console_http_text(req, 405, "Method Not Allowed", "only GET");
	else if (path == NULL || strcmp(path, "/metrics") != 0)
		console_http_text(req, 404, "Not Found", "not found");
	else
		console_metrics_request(h->c, req);
}

static void
console_http_signal(evutil_socket_t sig, short what, void *arg)
{
	struct console_http *h = arg;

	(void)what;
	log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(h->base, NULL);
}

/* The page's listener, and the webhooks' when they have their own
 * (webhook_listen): off loopback the page needs client certificates,
 * the webhooks (authenticated by their signatures) only TLS. */
static int
console_http_setup(struct console_http *h)
{
	const struct console_config *cfg = &h->c->cfg;
	struct console_listener_tls tls = {cfg->tls_cert, cfg->tls_key,
	    cfg->tls_client_ca, 1};

	if ((h->base = event_base_new()) == NULL)
		log_fatalx("cannot set up the event loop");
	h->c->events = console_events_new(h->c, h->base, cfg->max_streams,
	    cfg->max_streams_per_addr);
	h->c->ack = console_ack_new(h->base);
	h->c->exports = console_export_new(h->base);
	h->c->auth = console_auth_new(h->base, h->c->cfg.login_lockout);
	h->c->retention = console_retention_new(h->c, h->base);
	if (console_hosts_load(&h->hosts, cfg) != 0)
		return -1;
	h->page.name = "listen";
	h->page.kind = CONSOLE_GUARD_PAGE;
	h->page.limits = &cfg->limits;
	if (console_listener_open(&h->page, h->base, cfg->listen, &tls,
	        console_http_request, h) != 0)
		return -1;
	tls.client_ca = NULL;
	tls.need_client_ca = 0;
	h->metrics.name = "metrics_listen";
	h->metrics.kind = CONSOLE_GUARD_METRICS;
	h->metrics.limits = &cfg->limits;
	if (cfg->metrics_listen != NULL &&
	    console_listener_open(&h->metrics, h->base, cfg->metrics_listen,
	        &tls, console_http_metrics_request, h) != 0)
		return -1;
	if (cfg->webhook_listen == NULL)
		return 0;
	h->hooks.name = "webhook_listen";
	h->hooks.kind = CONSOLE_GUARD_HOOKS;
	h->hooks.limits = &cfg->limits;
	return console_listener_open(&h->hooks, h->base, cfg->webhook_listen,
	    &tls, console_http_webhook_request, h);
}

struct console_http *
console_http_bind(struct console *c)
{
	struct console_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->c = c;
	if (console_http_setup(h) != 0) {
		console_http_free(h);
		return NULL;
	}
	return h;
}

int
console_http_run(struct console_http *h)
{
	h->sigint = evsignal_new(h->base, SIGINT, console_http_signal, h);
	h->sigterm = evsignal_new(h->base, SIGTERM, console_http_signal, h);
	if (h->sigint == NULL || h->sigterm == NULL ||
	    evsignal_add(h->sigint, NULL) != 0 ||
	    evsignal_add(h->sigterm, NULL) != 0)
		log_fatalx("cannot register signal handlers");
	return event_base_dispatch(h->base) == 0 ? 0 : -1;
}

void
console_http_free(struct console_http *h)
{
	if (h == NULL)
		return;
	if (h->sigint != NULL)
		event_free(h->sigint);
	if (h->sigterm != NULL)
		event_free(h->sigterm);
	console_events_free(h->c->events);
	h->c->events = NULL;
	console_ack_free(h->c->ack);
	h->c->ack = NULL;
	console_export_free(h->c->exports);
	h->c->exports = NULL;
	console_auth_free(h->c->auth);
	h->c->auth = NULL;
	console_retention_free(h->c->retention);
	h->c->retention = NULL;
	console_listener_close(&h->metrics);
	console_listener_close(&h->page);
	console_listener_close(&h->hooks);
	console_hosts_free(&h->hosts);
	if (h->base != NULL)
		event_base_free(h->base);
	free(h);
}
