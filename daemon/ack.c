#include <ctype.h>
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

#include "ack.h"
#include "http_guard.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "store.h"
#include "store_scripts.h"
#include "util.h"
#include "xmalloc.h"

#define ACK_BODY_MAX 4096

struct ack {
	struct relay *relay;
	struct evhttp *https;
	struct evhttp *plain;
	struct http_guard *https_guard;
	struct http_guard *plain_guard;
};

/* One request waiting for Redis.  If the client goes away first, the
 * connection's close callback detaches it, so the answer is dropped. */
struct ack_pending {
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct store_req *sreq;
	char rid[ID_MAX + 1];
	char channel[8];
};

static void
ack_reply(struct evhttp_request *req, int code, const char *reason,
    json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *s = json_dumps(body, JSON_COMPACT);

	evbuffer_add_printf(out, "%s\n", s ? s : "{}");
	free(s);
	json_decref(body);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
ack_error(struct evhttp_request *req, int code, const char *reason,
    const char *message)
{
	ack_reply(req, code, reason, json_pack("{s:s}", "error", message));
}

static void
ack_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct ack_pending *p = arg;

	(void)evcon;
	store_req_cancel(p->sreq);
	free(p);
}

static void
ack_done_cb(json_t *reply, const char *err, void *arg)
{
	struct ack_pending *p = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));
	const char *aid = json_string_value(json_object_get(reply, "aid"));
	const char *by = json_string_value(json_object_get(reply, "by"));

	evhttp_connection_set_closecb(p->evcon, NULL, NULL);
	if (reply == NULL) {
		log_warnx("ack recipient=%s: %s", p->rid, err);
		ack_error(p->req, 503, "Service Unavailable", "try again");
	} else if (strcmp(r, "unknown") == 0)
		ack_error(p->req, 404, "Not Found", "no such alert");
	else if (strcmp(r, "cancelled") == 0)
		ack_error(p->req, 409, "Conflict", "alert was cancelled");
	else {
		const char *rms =
		    json_string_value(json_object_get(reply, "received_ms"));

		if (rms != NULL)
			metrics_time_to_ack(
			    (now_ms() - strtoll(rms, NULL, 10)) / 1000.0);
		metrics.acknowledgements++;
		log_info("acknowledged alert=%s recipient=%s channel=%s "
		         "first=%d",
		    aid, p->rid, p->channel, strcmp(r, "first") == 0);
		ack_reply(p->req, 200, "OK",
		    json_pack("{s:s, s:s, s:b, s:s}", "alert_id", aid, "state",
		        "acknowledged", "first", strcmp(r, "first") == 0, "by",
		        by ? by : ""));
	}
	free(p);
}

static void
ack_submit(struct ack *a, struct evhttp_request *req,
    const struct recipient_entry *r, const char *channel, const char *aid,
    const char *ref)
{
	struct ack_pending *p = xcalloc(1, sizeof(*p));
	char now[RFC3339_LEN];
	json_t *args;

	p->req = req;
	p->evcon = evhttp_request_get_connection(req);
	snprintf(p->rid, sizeof(p->rid), "%s", r->id);
	snprintf(p->channel, sizeof(p->channel), "%s", channel);
	time_rfc3339_ms(now, now_ms());
	args = json_pack("{s:s, s:s, s:s, s:s}", "rid", r->id, "alias",
	    r->alias ? r->alias : r->id, "ch", channel, "now", now);
	json_object_set_new(args, aid ? "aid" : "ref",
	    json_string(aid ? aid : ref));
	evhttp_connection_set_closecb(p->evcon, ack_closed_cb, p);
	p->sreq = store_eval(a->relay->store, script_ack, args, ack_done_cb, p);
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

static void
ack_http(struct ack *a, struct evhttp_request *req, const char *path)
{
	const char *auth =
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	        "Authorization");
	const struct recipient_entry *r;
	char aid[33];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		ack_error(req, 405, "Method Not Allowed", "POST only");
		return;
	}
	const size_t pre = strlen("/v1/alerts/");

	if (strlen(path) != pre + 32 + strlen("/ack") ||
	    strcmp(path + pre + 32, "/ack") != 0) {
		ack_error(req, 404, "Not Found", "no such path");
		return;
	}
	snprintf(aid, sizeof(aid), "%.32s", path + pre);
	if (!alert_id_valid(aid)) {
		ack_error(req, 404, "Not Found", "no such alert");
		return;
	}
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 ||
	    (r = ack_token_owner(a->relay->cfg, auth + 7)) == NULL) {
		log_info("ack refused: missing or unknown token");
		ack_error(req, 401, "Unauthorized", "unknown token");
		return;
	}
	ack_submit(a, req, r, "https", aid, NULL);
}

/* "+31 6 1234 5678", "0031612345678" and "31612345678" are one number. */
static void
ack_normalise_number(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (in[0] == '0' && in[1] == '0')
		in += 2;
	out[n++] = '+';
	for (; *in != '\0' && n + 1 < len; in++)
		if (isdigit((unsigned char)*in))
			out[n++] = *in;
	out[n] = '\0';
}

static const struct recipient_entry *
ack_number_owner(const struct relay_config *cfg, const char *from)
{
	char a[32], b[32];
	size_t i;

	ack_normalise_number(from, a, sizeof(a));
	for (i = 0; i < cfg->nrecipients; i++) {
		if (cfg->recipients[i].sms == NULL)
			continue;
		ack_normalise_number(cfg->recipients[i].sms, b, sizeof(b));
		if (strcmp(a, b) == 0)
			return &cfg->recipients[i];
	}
	return NULL;
}

/* "ACK K7Q2", any case, any spacing; 0 with the reference upper-cased. */
static int
ack_parse_text(const char *text, char ref[8])
{
	size_t n = 0;

	while (isspace((unsigned char)*text))
		text++;
	if (strncasecmp(text, "ack", 3) != 0 ||
	    !isspace((unsigned char)text[3]))
		return -1;
	text += 3;
	while (isspace((unsigned char)*text))
		text++;
	while (isalnum((unsigned char)*text) && n < 7)
		ref[n++] = (char)toupper((unsigned char)*text++);
	ref[n] = '\0';
	while (isspace((unsigned char)*text))
		text++;
	return n >= 4 && n <= 6 && *text == '\0' ? 0 : -1;
}

static void
ack_sms(struct ack *a, struct evhttp_request *req, const char *path,
    const char *query)
{
	const struct relay_config *cfg = a->relay->cfg;
	const struct sms_gateway *gw;
	const struct recipient_entry *r;
	struct evkeyvalq params;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *from, *text, *token;
	char body[ACK_BODY_MAX + 1], ref[8];
	size_t len;

	gw = relay_config_gateway(cfg, path + strlen("/v1/sms/"));
	TAILQ_INIT(&params);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		len = evbuffer_copyout(in, body, ACK_BODY_MAX);
		body[len] = '\0';
		query = body;
	}
	if (gw == NULL || query == NULL ||
	    evhttp_parse_query_str(query, &params) != 0) {
		ack_error(req, 404, "Not Found", "no such gateway");
		return;
	}
	from = evhttp_find_header(&params, "from");
	text = evhttp_find_header(&params, "text");
	token = evhttp_find_header(&params, "token");
	if (gw->mo_token == NULL || token == NULL ||
	    strlen(token) != strlen(gw->mo_token) ||
	    sodium_memcmp(token, gw->mo_token, strlen(token)) != 0) {
		log_info("sms reply via %s refused: bad token", gw->name);
		ack_error(req, 403, "Forbidden", "bad token");
	} else if (from == NULL || text == NULL ||
	    (r = ack_number_owner(cfg, from)) == NULL) {
		log_info("sms reply via %s from an unknown number", gw->name);
		ack_error(req, 404, "Not Found", "unknown number");
	} else if (ack_parse_text(text, ref) != 0) {
		/* The text may be anything a person typed: not logged. */
		log_info("sms reply via %s from recipient=%s: not ACK <ref>",
		    gw->name, r->id);
		ack_error(req, 404, "Not Found", "expected ACK <ref>");
	} else
		ack_submit(a, req, r, "sms", NULL, ref);
	evhttp_clear_headers(&params);
}

static void
ack_request_cb(struct evhttp_request *req, void *arg)
{
	struct ack *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (path == NULL)
		ack_error(req, 400, "Bad Request", "bad request");
	else if (!store_ready(a->relay->store))
		ack_error(req, 503, "Service Unavailable", "try again");
	else if (strncmp(path, "/v1/alerts/", 11) == 0)
		ack_http(a, req, path);
	else if (strncmp(path, "/v1/sms/", 8) == 0)
		ack_sms(a, req, path, evhttp_uri_get_query(uri));
	else
		ack_error(req, 404, "Not Found", "no such path");
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
	char *host;
	int port;

	if (hostport_parse(addr, &host, &port) != 0)
		return NULL;
	http = evhttp_new(a->relay->base);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_timeout(http, 10);
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, ACK_BODY_MAX);
	/* The guard sets the bevcb and gencb: limits first (http_guard.h). */
	g = http_guard_new(a->relay->base, http,
	    tls ? LISTENER_ACK : LISTENER_ACK_PLAIN, &a->relay->cfg->ack_limits,
	    tls ? ack_tls_bev_cb : NULL, a, ack_request_cb, a);
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
	free(a);
}
