/*
 * GET /audit and POST /device/forget on the admin listener
 * (admin_lifecycle.h).  Both answer once Redis has; an erasure runs as
 * a chain of bounded scripts (script_forget), one per turn of the loop.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "admin_lifecycle.h"
#include "audit.h"
#include "http_json.h"
#include "lifecycle_parse.h"
#include "log.h"
#include "relay.h"
#include "retention_scripts.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define FORGET_STEP 500 /* entries or alerts per script run */
#define AUDIT_PAGE_BYTES 48000 /* alertctl reads answers up to 64 KiB */

struct lifecycle_op {
	TAILQ_ENTRY(lifecycle_op) entry;
	struct admin_lifecycle *owner;
	struct evhttp_request *req;
	struct store_req *sreq;
	/* an erasure */
	char dev[ID_MAX + 1];
	char by[ID_MAX + 1];
	char peer[64];
	char phase[16];
	char cursor[64];
	json_int_t alerts, entries, keys;
};

struct admin_lifecycle {
	struct relay *relay;
	TAILQ_HEAD(, lifecycle_op) ops;
};

struct admin_lifecycle *
admin_lifecycle_new(struct relay *relay)
{
	struct admin_lifecycle *l = xcalloc(1, sizeof(*l));

	l->relay = relay;
	TAILQ_INIT(&l->ops);
	return l;
}

void
admin_lifecycle_free(struct admin_lifecycle *l)
{
	struct lifecycle_op *op;

	if (l == NULL)
		return;
	while ((op = TAILQ_FIRST(&l->ops)) != NULL) {
		TAILQ_REMOVE(&l->ops, op, entry);
		store_req_cancel(op->sreq);
		free(op);
	}
	free(l);
}

static struct lifecycle_op *
lifecycle_op_new(struct admin_lifecycle *l, struct evhttp_request *req)
{
	struct lifecycle_op *op = xcalloc(1, sizeof(*op));

	op->owner = l;
	op->req = req;
	TAILQ_INSERT_TAIL(&l->ops, op, entry);
	return op;
}

static void
lifecycle_op_done(struct lifecycle_op *op)
{
	TAILQ_REMOVE(&op->owner->ops, op, entry);
	free(op);
}

static void
lifecycle_audit_cb(json_t *reply, const char *err, void *arg)
{
	struct lifecycle_op *op = arg;

	if (reply == NULL)
		http_json_refuse(op->req, 503, "Service Unavailable",
		    err != NULL ? err : "redis");
	else {
		/* cjson writes an empty array as {} */
		if (!json_is_array(json_object_get(reply, "records"))) {
			json_object_set_new(reply, "records", json_array());
			json_object_set_new(reply, "ids", json_array());
		}
		json_object_set_new(reply, "ok", json_true());
		http_json_reply(op->req, 200, "OK", json_incref(reply));
	}
	lifecycle_op_done(op);
}

void
admin_lifecycle_audit(struct admin_lifecycle *l, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct lifecycle_audit_args args;
	struct lifecycle_op *op;

	if (lifecycle_parse_audit(uri ? evhttp_uri_get_query(uri) : NULL,
	        l->relay->cfg->instance_id, &args) != 0) {
		http_json_refuse(req, 400, "Bad Request",
		    "instance, after or count out of range");
		return;
	}
	if (!store_ready(l->relay->store)) {
		http_json_refuse(req, 503, "Service Unavailable",
		    "redis unavailable");
		return;
	}
	op = lifecycle_op_new(l, req);
	op->sreq = store_eval(l->relay->store, script_audit_read,
	    json_pack("{s:s, s:s, s:I, s:i}", "inst", args.inst, "after",
	        args.after, "count", (json_int_t)args.count, "bytes",
	        AUDIT_PAGE_BYTES),
	    lifecycle_audit_cb, op);
}

static void lifecycle_forget_step(struct lifecycle_op *op);

static void
lifecycle_forget_cb(json_t *reply, const char *err, void *arg)
{
	struct lifecycle_op *op = arg;
	const char *phase = json_string_value(json_object_get(reply, "phase"));
	const char *cursor =
	    json_string_value(json_object_get(reply, "cursor"));
	char why[128], actor[ID_MAX + 8];

	op->sreq = NULL;
	if (reply == NULL || phase == NULL) {
		log_warnx("erasure stopped: %s; run it again",
		    reply == NULL ? err : "unexpected answer");
		http_json_refuse(op->req, 503, "Service Unavailable",
		    "erasure stopped halfway (redis); run it again");
		lifecycle_op_done(op);
		return;
	}
	op->alerts += json_integer_value(json_object_get(reply, "alerts"));
	op->entries += json_integer_value(json_object_get(reply, "entries"));
	op->keys += json_integer_value(json_object_get(reply, "keys"));
	snprintf(op->phase, sizeof(op->phase), "%s", phase);
	if (cursor != NULL)
		snprintf(op->cursor, sizeof(op->cursor), "%s", cursor);
	if (strcmp(phase, "done") != 0) {
		lifecycle_forget_step(op);
		return;
	}
	/* Only that it happened, by whom, how many: not whose data. */
	snprintf(why, sizeof(why), "alerts=%lld entries=%lld keys=%lld",
	    (long long)op->alerts, (long long)op->entries, (long long)op->keys);
	snprintf(actor, sizeof(actor), "admin:%s", op->by);
	audit_relay(op->owner->relay, "device.erase", "device", "ok", op->peer,
	    "admin", actor, why);
	log_info("erasure of one device's data by admin:%s: %s", op->by, why);
	http_json_reply(op->req, 200, "OK",
	    json_pack("{s:b, s:I, s:I, s:I}", "ok", 1, "alerts", op->alerts,
	        "entries", op->entries, "keys", op->keys));
	lifecycle_op_done(op);
}

static void
lifecycle_forget_step(struct lifecycle_op *op)
{
	struct relay *relay = op->owner->relay;

	if (!store_ready(relay->store)) {
		lifecycle_forget_cb(NULL, "redis unavailable", op);
		return;
	}
	op->sreq = store_eval(relay->store, script_forget,
	    json_pack("{s:s, s:s, s:s, s:i}", "dev", op->dev, "phase",
	        op->phase, "cursor", op->cursor, "lim", FORGET_STEP),
	    lifecycle_forget_cb, op);
}

void
admin_lifecycle_forget(struct admin_lifecycle *l, struct evhttp_request *req,
    const char *peer)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char dev[ID_MAX + 1], by[ID_MAX + 1];
	struct lifecycle_op *op;

	if (lifecycle_parse_forget((const char *)evbuffer_pullup(in, -1),
	        evbuffer_get_length(in), dev, by) != 0) {
		http_json_refuse(req, 400, "Bad Request",
		    "expected {\"device_id\": ID, \"by\": NAME}");
		return;
	}
	if (!store_ready(l->relay->store)) {
		http_json_refuse(req, 503, "Service Unavailable",
		    "redis unavailable");
		return;
	}
	op = lifecycle_op_new(l, req);
	snprintf(op->dev, sizeof(op->dev), "%s", dev);
	snprintf(op->by, sizeof(op->by), "%s", by);
	snprintf(op->peer, sizeof(op->peer), "%s", peer != NULL ? peer : "");
	snprintf(op->phase, sizeof(op->phase), "device");
	snprintf(op->cursor, sizeof(op->cursor), "-");
	lifecycle_forget_step(op);
}
