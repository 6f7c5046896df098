/*
 * The admin listener: metrics, health, reload, dead letters, audit and
 * erasure on loopback (admin.h).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "admin.h"
#include "admin_auth.h"
#include "http_host.h"
#include "http_guard.h"
#include "refusal.h"
#include "admin_deadletter.h"
#include "admin_lifecycle.h"
#include "audit.h"
#include "log.h"
#include "metrics.h"
#include "workers.h"
#include "netaddr.h"
#include "relay.h"
#include "store.h"
#include "store_scripts.h"
#include "util.h"
#include "xmalloc.h"

#define QUEUE_POLL_MS 5000
#define ADMIN_LOG_INTERVAL_MS 60000

struct admin {
	struct relay *relay;
	struct evhttp *http;
	struct http_guard *guard;
	struct event *poll_ev;
	struct store_req *poll_req;
	struct admin_deadletter *deadletter;
	struct admin_lifecycle *lifecycle;
	int64_t host_logged_ms, token_logged_ms; /* once a minute, not more */
};

/* Plain HTTP without authentication: only ever on loopback. */
static int
admin_address_loopback(const char *addr)
{
	struct sockaddr_storage ss;
	int len;

	return netaddr_parse(addr, &ss, &len) == 0 && netaddr_is_loopback(&ss);
}

static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_send_reply(req, code, reason, body);
}

static const char *
admin_health(const struct relay *relay)
{
	if (relay->stopping)
		return "shutting down";
	if (!store_ready(relay->store) && relay->spool == NULL)
		return "redis unavailable";
	if (relay->listeners == NULL)
		return "not listening";
	return NULL;
}

/* A Host other than the listener's own is a name someone pointed at
 * this host (DNS rebinding): a web page must not read /metrics or
 * reload through it. */
static int
admin_host_refused(struct admin *a, struct evhttp_request *req,
    struct evbuffer *body)
{
	struct sockaddr_storage ss;

	if (http_host_local_addr(req, &ss) == 0 &&
	    http_host_local(evhttp_find_header(evhttp_request_get_input_headers(
	                                           req),
	                        "Host"),
	        (struct sockaddr *)&ss))
		return 0;
	if (now_ms() - a->host_logged_ms >= ADMIN_LOG_INTERVAL_MS) {
		a->host_logged_ms = now_ms();
		log_warnx("admin: refused a request for another Host (DNS "
		          "rebinding?)");
	}
	evbuffer_add_printf(body, "misdirected request\n");
	admin_reply(req, 421, "Misdirected Request", "text/plain", body);
	return 1;
}

static int admin_token_refused(struct admin *a, struct evhttp_request *req,
    struct evbuffer *body, const char *what);

/* The peer's address, for the audit log. */
static const char *
admin_peer(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *addr = NULL;
	ev_uint16_t port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, (char **)&addr, &port);
	return addr != NULL ? addr : "";
}

/* Every request that needs the token is an admin request of the audit
 * log, granted or refused. */
static void
admin_audit_request(struct admin *a, struct evhttp_request *req,
    const char *what, int ok)
{
	const char *uri = evhttp_request_get_uri(req);

	/* The pages after the first of one export are one request. */
	if (ok && strcmp(what, "GET /audit") == 0 && uri != NULL &&
	    (strstr(uri, "after=%28") != NULL ||
	        strstr(uri, "after=(") != NULL))
		return;
	audit_relay(a->relay, "admin.request", what, ok ? "ok" : "refused",
	    admin_peer(req), "admin", "admin", ok ? NULL : "token");
}

/* GET /audit, POST /device/forget; 0 when the request is for something
 * else. */
static int
admin_lifecycle_route(struct admin *a, struct evhttp_request *req,
    struct evbuffer *body)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (path == NULL)
		return 0;
	if (cmd == EVHTTP_REQ_POST && strcmp(path, "/device/forget") == 0) {
		if (evhttp_find_header(evhttp_request_get_input_headers(req),
		        "Origin") != NULL) {
			evbuffer_add_printf(body, "forbidden\n");
			admin_reply(req, 403, "Forbidden", "text/plain", body);
		} else if (!admin_token_refused(a, req, body,
		               "POST /device/forget"))
			admin_lifecycle_forget(a->lifecycle, req,
			    admin_peer(req));
		return 1;
	}
	if (cmd == EVHTTP_REQ_GET && strcmp(path, "/audit") == 0) {
		if (!admin_token_refused(a, req, body, "GET /audit"))
			admin_lifecycle_audit(a->lifecycle, req);
		return 1;
	}
	return 0;
}

/* POST /reload changes state, the dead letters show who was sent what:
 * only with [admin] token_file's token. */
static int
admin_token_refused(struct admin *a, struct evhttp_request *req,
    struct evbuffer *body, const char *what)
{
	const char *token = a->relay->cfg->admin_token;
	int ok = token != NULL &&
	    admin_auth_token(
	        evhttp_find_header(evhttp_request_get_input_headers(req),
	            "Authorization"),
	        token);

	admin_audit_request(a, req, what, ok);
	if (ok)
		return 0;
	if (now_ms() - a->token_logged_ms >= ADMIN_LOG_INTERVAL_MS) {
		a->token_logged_ms = now_ms();
		log_warnx("admin: refused %s: %s", what,
		    token == NULL ? "no [admin] token_file is set"
		                  : "missing or wrong token");
	}
	if (token == NULL) {
		evbuffer_add_printf(body, "forbidden: no [admin] token_file\n");
		admin_reply(req, 403, "Forbidden", "text/plain", body);
	} else {
		evbuffer_add_printf(body, "unauthorized\n");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		admin_reply(req, 401, "Unauthorized", "text/plain", body);
	}
	return 1;
}

/* POST /reload: what SIGHUP does, with the outcome as the answer, for
 * `alertctl reload`.  Browsers send Origin with a cross-site POST: such
 * a request from a web page on this host is refused. */
static void
admin_reload(struct admin *a, struct evhttp_request *req, struct evbuffer *body)
{
	const struct directory *d;
	char err[512];
	json_t *o;
	char *text;

	if (evhttp_find_header(evhttp_request_get_input_headers(req),
	        "Origin") != NULL) {
		evbuffer_add_printf(body, "forbidden\n");
		admin_reply(req, 403, "Forbidden", "text/plain", body);
		return;
	}
	if (admin_token_refused(a, req, body, "POST /reload"))
		return;
	if (relay_reload(a->relay, err, sizeof(err)) != 0)
		o = json_pack("{s:b, s:s}", "ok", 0, "error", err);
	else {
		workers_reload_others();
		d = a->relay->cfg->dir;
		o = json_pack("{s:b, s:I, s:I}", "ok", 1, "devices",
		    (json_int_t)a->relay->cfg->ndevices, "recipients",
		    (json_int_t)a->relay->cfg->nrecipients);
		if (d != NULL)
			json_object_set_new(o, "directory_version",
			    json_integer(d->version));
	}
	text = json_dumps(o, JSON_COMPACT);
	evbuffer_add_printf(body, "%s\n", text);
	if (json_is_true(json_object_get(o, "ok")))
		admin_reply(req, 200, "OK", "application/json", body);
	else
		admin_reply(req, 409, "Conflict", "application/json", body);
	free(text);
	json_decref(o);
}

/* GET /deadletter[?limit=N] and POST /deadletter/replay; 0 when the
 * request is for something else. */
static int
admin_deadletter_route(struct admin *a, struct evhttp_request *req,
    struct evbuffer *body)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (path == NULL || strncmp(path, "/deadletter", 11) != 0)
		return 0;
	if (cmd == EVHTTP_REQ_POST && strcmp(path, "/deadletter/replay") == 0) {
		if (evhttp_find_header(evhttp_request_get_input_headers(req),
		        "Origin") != NULL) {
			evbuffer_add_printf(body, "forbidden\n");
			admin_reply(req, 403, "Forbidden", "text/plain", body);
		} else if (!admin_token_refused(a, req, body,
		               "POST /deadletter/replay"))
			admin_deadletter_replay(a->deadletter, req);
		return 1;
	}
	if (cmd == EVHTTP_REQ_GET && strcmp(path, "/deadletter") == 0) {
		if (!admin_token_refused(a, req, body, "GET /deadletter"))
			admin_deadletter_list(a->deadletter, req);
		return 1;
	}
	return 0;
}

static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct evbuffer *body = evbuffer_new();
	const char *path = evhttp_request_get_uri(req), *why;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (admin_host_refused(a, req, body)) {
		evbuffer_free(body);
		return;
	}
	if (a->relay->stopping && strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/healthz") != 0) {
		/* what needs the token is audited, and nothing is after
		 * relay.stop (relay_quiet): on another instance, or after
		 * the restart */
		evbuffer_add_printf(body,
		    "the relay is stopping; try again "
		    "after the restart\n");
		admin_reply(req, 503, "Service Unavailable", "text/plain",
		    body);
	} else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/reload") == 0)
		admin_reload(a, req, body);
	else if (admin_deadletter_route(a, req, body))
		;
	else if (admin_lifecycle_route(a, req, body))
		;
	else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evbuffer_add_printf(body, "method not allowed\n");
		admin_reply(req, 405, "Method Not Allowed", "text/plain", body);
	} else if (strcmp(path, "/metrics") == 0) {
		metrics_render(body);
		admin_reply(req, 200, "OK",
		    "text/plain; version=0.0.4; charset=utf-8", body);
	} else if (strcmp(path, "/healthz") == 0) {
		if ((why = admin_health(a->relay)) == NULL) {
			evbuffer_add_printf(body, "%s\n",
			    store_ready(a->relay->store)
			        ? "ok"
			        : "degraded: redis unavailable; alerts go to "
			          "the local spool");
			admin_reply(req, 200, "OK", "text/plain", body);
		} else {
			evbuffer_add_printf(body, "%s\n", why);
			admin_reply(req, 503, "Service Unavailable",
			    "text/plain", body);
		}
	} else {
		evbuffer_add_printf(body, "not found\n");
		admin_reply(req, 404, "Not Found", "text/plain", body);
	}
	evbuffer_free(body);
}

static void admin_poll_later(struct admin *a);

/* The open alerts of each type and the age of the oldest, from the
 * sorted sets the scripts keep: Redis's clock is not asked, the
 * arrival times are this host's. */
static void
admin_open_alerts(const json_t *reply)
{
	const json_t *open = json_object_get(reply, "open"), *t, *oldest;
	int64_t now = now_ms(), ms;
	int i;

	metrics.deadletter_entries =
	    (double)json_integer_value(json_object_get(reply, "deadletter"));
	for (i = 0; i < ALERT_TYPES_N; i++) {
		t = json_object_get(open, metrics_alert_types[i]);
		oldest = json_object_get(t, "oldest_ms");
		ms = json_is_string(oldest)
		    ? strtoll(json_string_value(oldest), NULL, 10)
		    : (int64_t)json_number_value(oldest);
		metrics.alerts_open[i] =
		    (double)json_integer_value(json_object_get(t, "n"));
		metrics.unacked_seconds[i] =
		    ms > 0 && ms < now ? (double)(now - ms) / 1000.0 : 0;
	}
	/* Drills have an open set of their own (store_scripts.c). */
	t = json_object_get(open, "drill");
	oldest = json_object_get(t, "oldest_ms");
	ms = json_is_string(oldest)
	    ? strtoll(json_string_value(oldest), NULL, 10)
	    : (int64_t)json_number_value(oldest);
	metrics.drills_open =
	    (double)json_integer_value(json_object_get(t, "n"));
	metrics.drill_unacked_seconds =
	    ms > 0 && ms < now ? (double)(now - ms) / 1000.0 : 0;
}

static void
admin_queue_cb(json_t *reply, const char *err, void *arg)
{
	struct admin *a = arg;
	const char *oldest =
	    json_string_value(json_object_get(reply, "oldest"));
	long long oldest_ms = oldest ? strtoll(oldest, NULL, 10) : 0;

	(void)err;
	a->poll_req = NULL;
	if (reply != NULL) {
		metrics.queue_depth = (uint64_t)json_integer_value(
		    json_object_get(reply, "depth"));
		metrics.oldest_pending_seconds =
		    oldest_ms > 0 ? (double)(now_ms() - oldest_ms) / 1000.0 : 0;
		admin_open_alerts(reply);
	}
	admin_poll_later(a);
}

static json_t *
admin_poll_args(void)
{
	json_t *types = json_array();
	int i;

	for (i = 0; i < ALERT_TYPES_N; i++)
		json_array_append_new(types,
		    json_string(metrics_alert_types[i]));
	json_array_append_new(types, json_string("drill"));
	return json_pack("{s:o}", "types", types);
}

static void
admin_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;

	(void)fd;
	(void)what;
	if (store_ready(a->relay->store))
		a->poll_req = store_eval(a->relay->store, script_queue,
		    admin_poll_args(), admin_queue_cb, a);
	else
		admin_poll_later(a);
}

static void
admin_poll_later(struct admin *a)
{
	struct timeval tv = {QUEUE_POLL_MS / 1000, 0};

	evtimer_add(a->poll_ev, &tv);
}

/* Logs the real port, which matters when the configuration says 0. */
static void
admin_log_bound(struct evhttp_bound_socket *bound, int worker)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss,
	    &len);
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	if (worker > 0)
		log_info("admin listening on %s:%u for worker %d", host, port,
		    worker);
	else
		log_info("admin listening on %s:%u", host, port);
}

int
admin_open(struct relay *relay, int worker, struct admin **out)
{
	struct http_guard_hooks hooks;
	const char *addr = relay->cfg->admin_listen;
	struct evhttp_bound_socket *bound;
	struct admin *a;
	char *host;
	int port;

	*out = NULL;
	if (addr[0] == '\0')
		return 0;
	if (!admin_address_loopback(addr) ||
	    hostport_parse(addr, &host, &port) != 0) {
		log_warnx("[admin] listen = %s: must be a loopback "
		          "address:port",
		    addr);
		return -1;
	}
	if (port != 0 && worker > 0)
		port += worker;
	a = xcalloc(1, sizeof(*a));
	a->relay = relay;
	a->http = evhttp_new(relay->base);
	evhttp_set_allowed_methods(a->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_timeout(a->http, 10);
	/* The guard sets the bevcb and gencb, and the request's limits. */
	refusal_hooks(LISTENER_ADMIN, &hooks);
	a->guard = http_guard_new(relay->base, a->http,
	    &relay->cfg->admin_limits, &hooks, NULL, NULL, admin_request_cb, a);
	http_guard_set_max_request(a->guard, 8192, 4096);
	bound = http_guard_bind(a->guard, host, port);
	free(host);
	if (bound == NULL) {
		log_warn("admin listen on %s", addr);
		http_guard_free(a->guard);
		evhttp_free(a->http);
		free(a);
		return -1;
	}
	admin_log_bound(bound, worker);
	a->poll_ev = evtimer_new(relay->base, admin_poll_cb, a);
	a->deadletter = admin_deadletter_new(relay);
	a->lifecycle = admin_lifecycle_new(relay);
	admin_poll_later(a);
	*out = a;
	return 0;
}

void
admin_close(struct admin *a)
{
	if (a == NULL)
		return;
	store_req_cancel(a->poll_req);
	event_free(a->poll_ev);
	http_guard_free(a->guard);
	admin_deadletter_free(a->deadletter);
	admin_lifecycle_free(a->lifecycle);
	evhttp_free(a->http);
	free(a);
}
