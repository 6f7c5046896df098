/*
 * The console's HTTP server (libevent's evhttp): the recipients'
 * webhook endpoints (POST /hook/<recipient id>), the read API and the
 * page.  Plain HTTP on a loopback address; any other address needs
 * tls_cert and tls_key (TLS 1.3, common/tls.c).  Every answer carries
 * the security headers.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <sodium.h>

#include "console.h"
#include "console_events.h"
#include "console_static.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define CONSOLE_HTTP_MAX_HEADERS (16 * 1024)
#define CONSOLE_HTTP_TIMEOUT_S 30

struct console_http {
	struct console *c;
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl_ctx;
	struct event *sigint, *sigterm;
};

/* The page runs only its own script and style, in no frame, and tells
 * nobody where it was. */
void
console_http_headers(struct evhttp_request *req, const char *type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
	    "form-action 'self'");
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
	case 422:
		return "Unprocessable Content";
	default:
		return "Internal Server Error";
	}
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

/* The decrypted alerts are wiped from memory once handed to libevent. */
static void
console_http_api(struct console_http *h, struct evhttp_request *req)
{
	struct evbuffer *out;
	char *text = console_api_alerts(h->c);

	if (text == NULL || (out = evbuffer_new()) == NULL) {
		free(text);
		console_http_text(req, 500, "Internal Server Error",
		    "cannot list the alerts");
		return;
	}
	evbuffer_add(out, text, strlen(text));
	sodium_memzero(text, strlen(text));
	free(text);
	console_http_headers(req, "application/json");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
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
	if (cmd == EVHTTP_REQ_POST) {
		if ((r = console_http_recipient(h, path)) != NULL)
			console_http_hook(h, req, r);
		else
			console_http_text(req, 404, "Not Found", "not found");
	} else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		log_warnx("refused request: 405 method not allowed");
		console_http_text(req, 405, "Method Not Allowed",
		    "not allowed");
	} else if (strcmp(path, "/api/alerts") == 0)
		console_http_api(h, req);
	else if (strcmp(path, "/api/events") == 0 && cmd == EVHTTP_REQ_GET) {
		console_http_headers(req, "text/event-stream");
		console_events_open(h->c->events, req);
	} else if ((f = console_static_find(path)) != NULL)
		console_http_static(req, f);
	else
		console_http_text(req, 404, "Not Found", "not found");
}

static void
console_http_signal(evutil_socket_t sig, short what, void *arg)
{
	struct console_http *h = arg;

	(void)what;
	log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(h->base, NULL);
}

static struct bufferevent *
console_http_tls_bev(struct event_base *base, void *arg)
{
	struct console_http *h = arg;
	SSL *ssl = SSL_new(h->ssl_ctx);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* 127.0.0.0/8 and ::1: only this host can reach plain HTTP there. */
static int
console_http_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

static int
console_http_tls(struct console_http *h, const char *host)
{
	const struct console_config *cfg = &h->c->cfg;
	char err[512];

	if (cfg->tls_cert == NULL) {
		if (console_http_loopback(host))
			return 0;
		log_warnx("listen = %s: not a loopback address; plain HTTP "
		          "there would show alerts to the network: set "
		          "tls_cert and tls_key",
		    cfg->listen);
		return -1;
	}
	h->ssl_ctx =
	    tls_server_ctx(cfg->tls_cert, cfg->tls_key, err, sizeof(err));
	if (h->ssl_ctx == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static int
console_http_listen(struct console_http *h, const char *host, int port)
{
	if (evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port) ==
	    NULL) {
		log_warn("cannot listen on %s", h->c->cfg.listen);
		return -1;
	}
	log_info("listening on %s%s", h->c->cfg.listen,
	    h->ssl_ctx != NULL ? " (HTTPS)" : "");
	return 0;
}

static int
console_http_setup(struct console_http *h)
{
	char *host = NULL;
	int port, rc = -1;

	if (hostport_parse(h->c->cfg.listen, &host, &port) != 0) {
		log_warnx("listen = %s: not HOST:PORT", h->c->cfg.listen);
		return -1;
	}
	if (console_http_tls(h, host) == 0) {
		if ((h->base = event_base_new()) == NULL ||
		    (h->http = evhttp_new(h->base)) == NULL)
			log_fatalx("cannot set up the HTTP server");
		evhttp_set_max_body_size(h->http, HOOK_MAX_BODY);
		evhttp_set_max_headers_size(h->http, CONSOLE_HTTP_MAX_HEADERS);
		evhttp_set_timeout(h->http, CONSOLE_HTTP_TIMEOUT_S);
		evhttp_set_gencb(h->http, console_http_request, h);
		if (h->ssl_ctx != NULL)
			evhttp_set_bevcb(h->http, console_http_tls_bev, h);
		h->c->events = console_events_new(h->base);
		rc = console_http_listen(h, host, port);
	}
	free(host);
	return rc;
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
	if (h->http != NULL)
		evhttp_free(h->http);
	if (h->base != NULL)
		event_base_free(h->base);
	SSL_CTX_free(h->ssl_ctx);
	free(h);
}
