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
#include <jansson.h>

#include "admin_deadletter.h"
#include "deadletter_parse.h"
#include "http_json.h"
#include "relay.h"
#include "store.h"
#include "store_scripts.h"
#include "xmalloc.h"

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
admin_deadletter_answer_cb(json_t *reply, const char *err, void *arg)
{
	struct deadletter_op *op = arg;

	TAILQ_REMOVE(&op->owner->ops, op, entry);
	if (reply == NULL)
		http_json_refuse(op->req, 503, "Service Unavailable",
		    err != NULL ? err : "redis");
	else {
		json_object_set_new(reply, "ok", json_true());
		http_json_reply(op->req, 200, "OK", json_incref(reply));
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
		http_json_refuse(req, 503, "Service Unavailable",
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

void
admin_deadletter_list(struct admin_deadletter *dl, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	long limit =
	    deadletter_parse_limit(uri ? evhttp_uri_get_query(uri) : NULL);
	char lim[24];

	if (limit < 0) {
		http_json_refuse(req, 400, "Bad Request",
		    "limit must be 1..1000");
		return;
	}
	snprintf(lim, sizeof(lim), "%ld", limit);
	admin_deadletter_eval(dl, req, script_deadletter_list,
	    json_pack("{s:s}", "limit", lim));
}

void
admin_deadletter_replay(struct admin_deadletter *dl, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *why;
	json_t *args;

	args = deadletter_parse_replay((const char *)evbuffer_pullup(in, -1),
	    len, &why);
	if (args == NULL) {
		http_json_refuse(req, 400, "Bad Request", why);
		return;
	}
	admin_deadletter_eval(dl, req, script_deadletter_replay, args);
}
