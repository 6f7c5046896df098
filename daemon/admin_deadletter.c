/*
 * The dead letters on the admin listener, for `alertctl deadletter`:
 *
 *	GET  /deadletter?limit=N	the newest N (default 100, at most
 *					1000) and how many there are
 *	POST /deadletter/replay		{"ids":[ID, ...]} or {"all":true}:
 *					back into the deliveries stream
 *
 * Both need [admin] token_file's token (admin.c checks it before calling
 * here): the list shows which alert went to whom, and replaying sends
 * alarms.  The answer comes from Redis, so it is sent later; a request
 * whose client went away meanwhile is freed by libevent on reply.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "admin_deadletter.h"
#include "relay.h"
#include "store.h"
#include "store_scripts.h"
#include "util.h"
#include "xmalloc.h"

#define DEADLETTER_LIMIT_DEFAULT 100
#define DEADLETTER_LIMIT_MAX 1000
#define DEADLETTER_IDS_MAX 1000

struct deadletter_op {
	TAILQ_ENTRY(deadletter_op) entry;
	struct admin_deadletter *owner;
	struct evhttp_request *req;
	struct store_req *sreq;
};

struct admin_deadletter {
	struct relay *relay;
	TAILQ_HEAD(, deadletter_op) ops;
};

struct admin_deadletter *
admin_deadletter_new(struct relay *relay)
{
	struct admin_deadletter *dl = xcalloc(1, sizeof(*dl));

	dl->relay = relay;
	TAILQ_INIT(&dl->ops);
	return dl;
}

/* Called before evhttp_free(), which frees the requests. */
void
admin_deadletter_free(struct admin_deadletter *dl)
{
	struct deadletter_op *op;

	if (dl == NULL)
		return;
	while ((op = TAILQ_FIRST(&dl->ops)) != NULL) {
		TAILQ_REMOVE(&dl->ops, op, entry);
		store_req_cancel(op->sreq);
		free(op);
	}
	free(dl);
}

static void
admin_deadletter_reply(struct evhttp_request *req, int code, const char *reason,
    json_t *o)
{
	struct evbuffer *body = evbuffer_new();
	char *text = json_dumps(o, JSON_COMPACT);

	evbuffer_add_printf(body, "%s\n", text != NULL ? text : "{}");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
	free(text);
	json_decref(o);
}

static void
admin_deadletter_error(struct evhttp_request *req, int code, const char *reason,
    const char *error)
{
	admin_deadletter_reply(req, code, reason,
	    json_pack("{s:b, s:s}", "ok", 0, "error", error));
}

static void
admin_deadletter_answer_cb(json_t *reply, const char *err, void *arg)
{
	struct deadletter_op *op = arg;

	TAILQ_REMOVE(&op->owner->ops, op, entry);
	if (reply == NULL)
		admin_deadletter_error(op->req, 503, "Service Unavailable",
		    err != NULL ? err : "redis");
	else {
		json_object_set_new(reply, "ok", json_true());
		admin_deadletter_reply(op->req, 200, "OK", json_incref(reply));
	}
	free(op);
}

static void
admin_deadletter_eval(struct admin_deadletter *dl, struct evhttp_request *req,
    const char *script, json_t *args)
{
	struct deadletter_op *op;

	if (!store_ready(dl->relay->store)) {
		json_decref(args);
		admin_deadletter_error(req, 503, "Service Unavailable",
		    "redis unavailable");
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->owner = dl;
	op->req = req;
	TAILQ_INSERT_TAIL(&dl->ops, op, entry);
	op->sreq = store_eval(dl->relay->store, script, args,
	    admin_deadletter_answer_cb, op);
}

/* ?limit=N, or the default; -1 when malformed. */
static long
admin_deadletter_limit(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq q;
	const char *v;
	long limit = DEADLETTER_LIMIT_DEFAULT;

	if (query == NULL)
		return limit;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) != 0)
		return -1;
	v = evhttp_find_header(&q, "limit");
	if (v != NULL && parse_long(v, 1, DEADLETTER_LIMIT_MAX, &limit) != 0)
		limit = -1;
	evhttp_clear_headers(&q);
	return limit;
}

void
admin_deadletter_list(struct admin_deadletter *dl, struct evhttp_request *req)
{
	long limit = admin_deadletter_limit(req);
	char lim[24];

	if (limit < 0) {
		admin_deadletter_error(req, 400, "Bad Request",
		    "limit must be 1..1000");
		return;
	}
	snprintf(lim, sizeof(lim), "%ld", limit);
	admin_deadletter_eval(dl, req, script_deadletter_list,
	    json_pack("{s:s}", "limit", lim));
}

/* A stream entry id: digits, '-', digits. */
static int
admin_deadletter_id_valid(const char *id)
{
	size_t a = strspn(id, "0123456789"), b;

	if (a == 0 || a > 20 || id[a] != '-')
		return 0;
	b = strspn(id + a + 1, "0123456789");
	return b > 0 && b <= 20 && id[a + 1 + b] == '\0';
}

/* {"ids":[...]} or {"all":true} into the script's arguments; NULL with
 * why when the body is not that. */
static json_t *
admin_deadletter_replay_args(json_t *body, const char **why)
{
	json_t *ids = json_object_get(body, "ids"), *v, *out;
	char lim[24];
	size_t i;

	if (json_is_true(json_object_get(body, "all"))) {
		snprintf(lim, sizeof(lim), "%d", DEADLETTER_IDS_MAX);
		return json_pack("{s:b, s:s}", "all", 1, "limit", lim);
	}
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > DEADLETTER_IDS_MAX) {
		*why = "give {\"ids\": [ID, ...]} (1..1000) or {\"all\": true}";
		return NULL;
	}
	json_array_foreach(ids, i, v)
	{
		if (!json_is_string(v) ||
		    !admin_deadletter_id_valid(json_string_value(v))) {
			*why = "an id is not a stream entry id (like "
			       "1700000000000-0)";
			return NULL;
		}
	}
	out = json_object();
	json_object_set(out, "ids", ids);
	return out;
}

void
admin_deadletter_replay(struct admin_deadletter *dl, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *why = "the body is not a JSON object";
	json_t *body, *args = NULL;

	body = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(body))
		args = admin_deadletter_replay_args(body, &why);
	json_decref(body);
	if (args == NULL) {
		admin_deadletter_error(req, 400, "Bad Request", why);
		return;
	}
	admin_deadletter_eval(dl, req, script_deadletter_replay, args);
}
