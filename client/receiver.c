/*
 * The webhook endpoint of `alertctl receive` (receiver.h): evhttp under
 * common/http_guard.c, whose limits keep what unauthenticated peers can
 * make it hold bounded.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "i18n.h"
#include "alertctl.h"
#include "http_guard.h"
#include "log.h"
#include "receiver.h"
#include "tls.h"

#define RECEIVER_MAX_HEADERS (16 * 1024)
#define RECEIVER_TIMEOUT_S 30 /* idle; the guard's deadline is shorter */
/* Descriptors kept for the state directory, key files and the log. */
#define RECEIVER_FD_RESERVE 32

struct receiver {
	const struct receiver_opts *opts;
	struct hook_config *hook;
	struct event_base *base;
	struct evhttp *http;
	struct http_guard *guard;
	SSL_CTX *ssl_ctx;
	struct event *sigint, *sigterm;
};

static const char *
receiver_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 422:
		return "Unprocessable Content";
	default:
		return "Internal Server Error";
	}
}

static void
receiver_reply(struct evhttp_request *req, int status, const char *reason)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	if (out != NULL)
		evbuffer_add_printf(out, "%s\n", reason);
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	if (status == 405)
		evhttp_add_header(h, "Allow", "POST");
	evhttp_send_reply(req, status, receiver_status_text(status), out);
	if (out != NULL)
		evbuffer_free(out);
}

/* Method and path come before anything the hook looks at. */
static int
receiver_route(const struct receiver *r, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		log_warnx(_("refused request: 405 method not allowed"));
		receiver_reply(req, 405, "only POST");
		return -1;
	}
	if (r->opts->path != NULL &&
	    (path == NULL || strcmp(path, r->opts->path) != 0)) {
		log_warnx(_("refused request: 404 wrong path"));
		receiver_reply(req, 404, "not found");
		return -1;
	}
	return 0;
}

static void
receiver_request(struct evhttp_request *req, void *arg)
{
	struct receiver *r = arg;
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct hook_request hr;
	struct hook_reply reply;

	if (receiver_route(r, req) != 0)
		return;
	memset(&hr, 0, sizeof(hr));
	hr.id = evhttp_find_header(h, "webhook-id");
	hr.timestamp = evhttp_find_header(h, "webhook-timestamp");
	hr.signature = evhttp_find_header(h, "webhook-signature");
	hr.bodylen = evbuffer_get_length(in);
	hr.body = hr.bodylen > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	hook_handle(r->hook, &hr, &reply);
	receiver_reply(req, reply.status, reply.reason);
}

static void
receiver_signal(evutil_socket_t sig, short what, void *arg)
{
	struct receiver *r = arg;

	(void)what;
	log_info(_("%s: shutting down"), sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(r->base, NULL);
}

/* The guard's refusals, one line per reason and interval at most. */
static void
receiver_refused(void *arg, enum conn_refuse why, const char *detail)
{
	static struct refuse_log logs[CONN_REFUSE_NREASONS];

	(void)arg;
	refuse_log_note(&logs[why], "receive", why, detail);
}

static struct bufferevent *
receiver_tls_bev(struct event_base *base, void *arg)
{
	struct receiver *r = arg;
	SSL *ssl = SSL_new(r->ssl_ctx);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static int
receiver_bind(struct receiver *r)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int port = r->opts->port;

	bs = http_guard_bind(r->guard, r->opts->host, port);
	if (bs == NULL) {
		log_warn(_("cannot listen on %s:%d"), r->opts->host, port);
		return -1;
	}
	/* With port 0 the kernel chose; say which. */
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	        &sslen) == 0)
		port = ss.ss_family == AF_INET6
		    ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
		    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (strchr(r->opts->host, ':') != NULL)
		log_info(_("listening on [%s]:%d%s"), r->opts->host, port,
		    r->ssl_ctx != NULL ? " (HTTPS)" : "");
	else
		log_info(_("listening on %s:%d%s"), r->opts->host, port,
		    r->ssl_ctx != NULL ? " (HTTPS)" : "");
	return 0;
}

static int
receiver_setup(struct receiver *r)
{
	struct http_guard_hooks hooks;
	char err[512];

	if (r->opts->tls_cert != NULL &&
	    (r->ssl_ctx = tls_server_ctx(r->opts->tls_cert, r->opts->tls_key,
	         err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if ((r->base = event_base_new()) == NULL ||
	    (r->http = evhttp_new(r->base)) == NULL)
		log_fatalx(_("cannot set up the HTTP server"));
	evhttp_set_timeout(r->http, RECEIVER_TIMEOUT_S);
	/* The guard takes evhttp's bevcb and gencb: requests reach
	 * receiver_request only whole and within the limits. */
	hooks.fd_cap = http_guard_fd_share(RECEIVER_FD_RESERVE, 1);
	hooks.refused = receiver_refused;
	hooks.arg = NULL;
	r->guard = http_guard_new(r->base, r->http, &r->opts->limits, &hooks,
	    r->ssl_ctx != NULL ? receiver_tls_bev : NULL, r, receiver_request,
	    r);
	http_guard_set_max_request(r->guard, RECEIVER_MAX_HEADERS,
	    HOOK_MAX_BODY);
	r->sigint = evsignal_new(r->base, SIGINT, receiver_signal, r);
	r->sigterm = evsignal_new(r->base, SIGTERM, receiver_signal, r);
	if (r->sigint == NULL || r->sigterm == NULL ||
	    evsignal_add(r->sigint, NULL) != 0 ||
	    evsignal_add(r->sigterm, NULL) != 0)
		log_fatalx(_("cannot register signal handlers"));
	return receiver_bind(r);
}

static void
receiver_teardown(struct receiver *r)
{
	if (r->sigint != NULL)
		event_free(r->sigint);
	if (r->sigterm != NULL)
		event_free(r->sigterm);
	http_guard_free(r->guard);
	if (r->http != NULL)
		evhttp_free(r->http);
	if (r->base != NULL)
		event_base_free(r->base);
	SSL_CTX_free(r->ssl_ctx);
}

int
receiver_run(const struct receiver_opts *opts, struct hook_config *hook)
{
	struct receiver r;
	int rc = EXIT_FAIL;

	memset(&r, 0, sizeof(r));
	r.opts = opts;
	r.hook = hook;
	if (receiver_setup(&r) == 0 && event_base_dispatch(r.base) == 0)
		rc = EXIT_OK;
	receiver_teardown(&r);
	return rc;
}
