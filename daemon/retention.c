/*
 * The retention sweep (retention.h): a timer that runs
 * script_retention_sweep and, when a class had a full batch due, runs
 * again at once (still one script at a time), so a backlog drains in
 * small steps.
 */
#include <stdlib.h>

#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "retention.h"
#include "retention_scripts.h"
#include "store.h"
#include "xmalloc.h"

struct retention {
	struct relay *relay;
	struct event *ev;
	struct store_req *req;
};

static void
retention_later(struct retention *r, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(r->ev, &tv);
}

static void
retention_swept_cb(json_t *reply, const char *err, void *arg)
{
	struct retention *r = arg;
	json_int_t content, index;

	r->req = NULL;
	if (reply == NULL) {
		log_debug("retention: sweep: %s", err);
		retention_later(r, r->relay->cfg->ret_sweep_interval * 1000);
		return;
	}
	content = json_integer_value(json_object_get(reply, "content"));
	index = json_integer_value(json_object_get(reply, "index")) +
	    json_integer_value(json_object_get(reply, "stream"));
	if (content + index > 0 ||
	    json_integer_value(json_object_get(reply, "alerts")) > 0 ||
	    json_integer_value(json_object_get(reply, "deadletter")) > 0)
		log_debug("retention: swept content=%lld index=%lld "
		          "alerts_stream=%lld deadletter=%lld audit=%lld",
		    (long long)content, (long long)index,
		    (long long)json_integer_value(
		        json_object_get(reply, "alerts")),
		    (long long)json_integer_value(
		        json_object_get(reply, "deadletter")),
		    (long long)json_integer_value(
		        json_object_get(reply, "audit")));
	/* A full batch: more is due; go on soon, letting the loop run. */
	if (content >= RETENTION_BATCH || index >= RETENTION_BATCH)
		retention_later(r, 10);
	else
		retention_later(r, r->relay->cfg->ret_sweep_interval * 1000);
}

static void
retention_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct retention *r = arg;
	const struct relay_config *cfg = r->relay->cfg;
	json_t *types;
	int i;

	(void)fd;
	(void)what;
	if (r->relay->stopping)
		return;
	if (!store_ready(r->relay->store)) {
		retention_later(r, cfg->ret_sweep_interval * 1000);
		return;
	}
	types = json_array();
	for (i = 0; i < ALERT_TYPES_N; i++)
		json_array_append_new(types,
		    json_string(metrics_alert_types[i]));
	r->req = store_eval(r->relay->store, script_retention_sweep,
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o}", "lim",
	        (json_int_t)RETENTION_BATCH, "content",
	        (json_int_t)cfg->ret_content, "index",
	        (json_int_t)cfg->ret_index, "history",
	        (json_int_t)cfg->ret_history, "deadletter",
	        (json_int_t)cfg->ret_deadletter, "audit",
	        (json_int_t)cfg->ret_audit, "inst", cfg->instance_id, "types",
	        types),
	    retention_swept_cb, r);
}

struct retention *
retention_new(struct relay *relay)
{
	struct retention *r = xcalloc(1, sizeof(*r));

	r->relay = relay;
	r->ev = evtimer_new(relay->base, retention_sweep_cb, r);
	retention_apply(r);
	retention_later(r, 1000);
	return r;
}

void
retention_apply(struct retention *r)
{
	const struct relay_config *cfg;

	if (r == NULL)
		return;
	cfg = r->relay->cfg;
	store_set_retention(r->relay->store,
	    json_pack("{s:I, s:I}", "history", (json_int_t)cfg->ret_history,
	        "sms_refs", (json_int_t)cfg->ret_sms_refs));
}

void
retention_free(struct retention *r)
{
	if (r == NULL)
		return;
	store_req_cancel(r->req);
	event_free(r->ev);
	free(r);
}
