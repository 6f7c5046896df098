/*
 * A device's other requests: status and list of its alerts (each one
 * store script), and the signed directory (conn_int.h).  Its cancel is
 * in conn_cancel.c.
 */
#include "conn_int.h"
#include "spool.h"

void
conn_unknown_alert(struct conn *c)
{
	struct spool *sp = c->relay->spool;

	if (sp != NULL && spool_holds(sp, c->req_alert_id))
		conn_error(c, "unavailable",
		    "the alert is still in this relay's spool; try again", 0);
	else
		conn_error(c, "unknown_alert", "no such alert of this device",
		    0);
}

/* A status (or watch) whose events would not fit in a frame (a small
 * max_frame, long signed statements): its oldest go, events_omitted
 * says how many in all the device is not shown.  64 bytes are left for
 * that member. */
static void
conn_fit_events(json_t *out, size_t max)
{
	json_t *evs = json_object_get(out, "events");
	json_int_t omitted =
	    json_integer_value(json_object_get(out, "events_omitted"));
	size_t total = json_dumpb(out, NULL, 0, JSON_COMPACT);

	if (!json_is_array(evs) || total + 64 <= max)
		return;
	while (total + 64 > max && json_array_size(evs) > 0) {
		total -=
		    json_dumpb(json_array_get(evs, 0), NULL, 0, JSON_COMPACT) +
		    1;
		json_array_remove(evs, 0);
		omitted++;
	}
	json_object_set_new(out, "events_omitted", json_integer(omitted));
}

/* Answers of status and list go out as the script gave them, under
 * the frame type asked for. */
void
conn_answer_cb(json_t *reply, const char *err, void *arg)
{
	struct conn *c = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));
	char type[16];

	c->req = NULL;
	snprintf(type, sizeof(type), "%s", c->req_type);
	if (reply == NULL || err != NULL) {
		log_warnx("conn %llu: %s: %s", c->id, type, err);
		conn_error(c, "unavailable", "try again", 0);
	} else if (r != NULL && strcmp(r, "unknown") == 0)
		conn_unknown_alert(c);
	else {
		json_t *out = json_deep_copy(reply);
		json_t *alerts = json_object_get(out, "alerts");

		/* Lua's cjson writes an empty list as {} */
		if (json_is_object(alerts))
			json_object_set_new(out, "alerts", json_array());
		json_object_del(out, "r");
		json_object_set_new(out, "type", json_string(type));
		conn_fit_events(out, (size_t)c->relay->cfg->max_frame);
		conn_send(c, out);
	}
	conn_process(c);
}

void
conn_status(struct conn *c, const json_t *o)
{
	const char *aid = json_str(o, "alert_id");

	if (aid == NULL || !alert_id_valid(aid)) {
		conn_error(c, "bad_frame", "status needs an alert_id", 1);
		return;
	}
	snprintf(c->req_type, sizeof(c->req_type), "status");
	snprintf(c->req_alert_id, sizeof(c->req_alert_id), "%s", aid);
	c->req = store_eval(c->relay->store, script_status,
	    json_pack("{s:s, s:s}", "aid", aid, "dev", c->device_id),
	    conn_answer_cb, c);
}

void
conn_list(struct conn *c, const json_t *o)
{
	json_t *l = json_object_get(o, "limit");
	json_int_t limit = json_is_integer(l) ? json_integer_value(l) : 20;
	char lim[8];

	if (limit < 1 || limit > 100) {
		conn_error(c, "bad_frame", "limit must be 1..100", 1);
		return;
	}
	snprintf(lim, sizeof(lim), "%d", (int)limit);
	snprintf(c->req_type, sizeof(c->req_type), "list");
	c->req = store_eval(c->relay->store, script_list,
	    json_pack("{s:s, s:s}", "dev", c->device_id, "limit", lim),
	    conn_answer_cb, c);
}

/* The signed directory, as the organisation signed it; only its version
 * when the device already has that one. */
void
conn_directory(struct conn *c, const json_t *o)
{
	const struct directory *d = c->relay->cfg->dir;
	json_t *have = json_object_get(o, "have");

	/* Each answer may be megabytes for a request of 30 bytes: one at a
	 * time, and a device asks only once per session anyway. */
	if (conn_flow_directory_pending(&c->flow)) {
		conn_error(c, "directory_pending",
		    "the previous directory is still being sent", 1);
		return;
	}
	if (d == NULL) {
		conn_error(c, "no_directory",
		    "this relay has no signed directory", 0);
		return;
	}
	if (json_is_integer(have) && json_integer_value(have) == d->version) {
		conn_send(c,
		    json_pack("{s:s, s:I}", "type", "directory", "version",
		        (json_int_t)d->version));
		return;
	}
	if (conn_dirframe_push(bufferevent_get_output(c->bev), d) != 0) {
		log_warnx("conn %llu: directory: out of memory", c->id);
		conn_error(c, "unavailable", "try again", 0);
		return;
	}
	conn_flow_directory_queued(&c->flow);
	conn_flow_full(&c->flow, c->relay->cfg->send_timeout);
}
