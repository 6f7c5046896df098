/* A recipient's inbox on the ack listener (ack_inbox.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "ack_inbox.h"
#include "ack_parse.h"
#include "frame.h"
#include "http_json.h"
#include "log.h"
#include "relay.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

/* Newest first from the stream of accepted alerts, back to a.since (a
 * stream id), at most a.scan entries looked at and a.limit returned:
 * bounded work for Redis whatever the history holds.  Only alerts this
 * recipient was sent (reached on some channel), still open or
 * acknowledged.  duress: cancelled with the duress PIN (the alarm is
 * on, silently: do not call back). */
static const char script_inbox[] =
    "local a = cjson.decode(ARGV[1])\n"
    "local function K(...) return table.concat({a.p, ...}, ':') end\n"
    "local out = {}\n"
    "local rows = redis.call('XREVRANGE', K('alerts'), '+', a.since,"
    "  'COUNT', a.scan)\n"
    "for _, row in ipairs(rows) do\n"
    "  if #out >= a.limit then break end\n"
    "  local f, aid = row[2], nil\n"
    "  for i = 1, #f, 2 do\n"
    "    if f[i] == 'alert_id' then aid = f[i + 1] end\n"
    "  end\n"
    "  local h = aid and redis.call('HMGET', K('alert', aid), 'state',"
    "    'alert_type', 'device_id', 'received_at', 'ref', 'tier',"
    "    'acked_by', 'acked_at', 'drill', 'envelope_hash', 'duress',"
    "    'duress_at') or {}\n"
    "  if h[1] == 'open' or h[1] == 'acknowledged' then\n"
    "    local on = false\n"
    "    for _, m in ipairs(redis.call('SMEMBERS', K('notified', aid))) do\n"
    "      if string.sub(m, 1, #a.rid + 1) == a.rid .. '|' then on = true end\n"
    "    end\n"
    "    if on then\n"
    "      out[#out + 1] = {alert_id = aid, state = h[1], alert_type = h[2],"
    "        device_id = h[3], received_at = h[4], ref = h[5],"
    "        tier = tonumber(h[6]), acknowledged_by = h[7] or nil,"
    "        acknowledged_at = h[8] or nil, drill = h[9] == '1',"
    "        envelope_sha256 = h[10] or nil, duress = h[11] == '1',"
    "        duress_at = h[12] or nil}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return cjson.encode({r = 'ok', n = #out, alerts = out})\n";

struct ack_inbox_req {
	struct relay *relay;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct store_req *sreq;
	char rid[ID_MAX + 1];
	long hours;
};

/* Not kept by any cache: who was alerted, and when. */
static void
ack_inbox_reply(struct evhttp_request *req, int code, const char *reason,
    json_t *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	http_json_reply(req, code, reason, body);
}

static void
ack_inbox_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct ack_inbox_req *q = arg;

	(void)evcon;
	store_req_cancel(q->sreq);
	free(q);
}

/* The device's alias, which people know it by, from the directory. */
static json_t *
ack_inbox_alerts(const struct relay *relay, json_t *reply)
{
	json_t *in = json_object_get(reply, "alerts"), *out = json_array();
	size_t i;

	/* cjson writes an empty list as {} */
	for (i = 0; json_is_array(in) && i < json_array_size(in); i++) {
		json_t *e = json_array_get(in, i);
		const char *dev = json_str(e, "device_id");
		const struct device_entry *d =
		    dev ? relay_config_device(relay->cfg, dev) : NULL;

		json_object_set_new(e, "device_alias",
		    json_string(d && d->alias ? d->alias
		            : dev             ? dev
		                              : ""));
		json_array_append(out, e);
	}
	return out;
}

static void
ack_inbox_done_cb(json_t *reply, const char *err, void *arg)
{
	struct ack_inbox_req *q = arg;

	evhttp_connection_set_closecb(q->evcon, NULL, NULL);
	if (reply == NULL || !json_is_object(reply)) {
		log_warnx("inbox recipient=%s: %s", q->rid,
		    err ? err : "bad answer");
		ack_inbox_reply(q->req, 503, "Service Unavailable",
		    json_pack("{s:s}", "error", "try again"));
	} else {
		json_t *alerts = ack_inbox_alerts(q->relay, reply);

		log_info("inbox recipient=%s alerts=%zu", q->rid,
		    json_array_size(alerts));
		ack_inbox_reply(q->req, 200, "OK",
		    json_pack("{s:o, s:i, s:i, s:s}", "alerts", alerts, "hours",
		        (int)q->hours, "max", ACK_INBOX_MAX, "recipient",
		        q->rid));
	}
	free(q);
}

void
ack_inbox(struct relay *relay, struct evhttp_request *req,
    const struct recipient_entry *r, const char *query)
{
	struct ack_inbox_req *q;
	char since[32];
	long hours;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		ack_inbox_reply(req, 405, "Method Not Allowed",
		    json_pack("{s:s}", "error", "GET only"));
		return;
	}
	if (ack_parse_inbox_query(query, &hours) != 0) {
		ack_inbox_reply(req, 400, "Bad Request",
		    json_pack("{s:s}", "error", "hours must be 1..168"));
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->relay = relay;
	q->req = req;
	q->hours = hours;
	q->evcon = evhttp_request_get_connection(req);
	snprintf(q->rid, sizeof(q->rid), "%s", r->id);
	/* Stream ids begin with their time in ms. */
	snprintf(since, sizeof(since), "%lld-0",
	    (long long)(now_ms() - (int64_t)hours * 3600000));
	evhttp_connection_set_closecb(q->evcon, ack_inbox_closed_cb, q);
	q->sreq = store_eval(relay->store, script_inbox,
	    json_pack("{s:s, s:s, s:i, s:i}", "rid", r->id, "since", since,
	        "scan", ACK_INBOX_SCAN, "limit", ACK_INBOX_MAX),
	    ack_inbox_done_cb, q);
}
