/*
 * Exports of alerts and their timelines (console_export.h).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "console.h"
#include "console_auth.h"
#include "console_cookie.h"
#include "console_export.h"
#include "console_work.h"
#include "log.h"
#include "util.h"

static const char *
console_export_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void
console_export_csv_row(struct evbuffer *out, json_t *a, json_t *e)
{
	char at[RFC3339_LEN];
	const char *cells[8];
	size_t i;

	time_rfc3339(at, (time_t)json_integer_value(json_object_get(e, "at")));
	cells[0] = console_export_str(a, "alert_id");
	cells[1] = console_export_str(a, "type");
	cells[2] = console_export_str(a, "device_alias");
	cells[3] = console_export_str(a, "created_at");
	cells[4] = console_export_str(a, "message");
	cells[5] = at;
	cells[6] = console_export_str(e, "kind");
	cells[7] = console_export_str(e, "actor");
	for (i = 0; i < 8; i++) {
		console_csv_cell(out, cells[i]);
		evbuffer_add(out, ",", 1);
	}
	console_csv_cell(out, console_export_str(e, "detail"));
	evbuffer_add(out, "\r\n", 2);
}

static void
console_export_csv(struct evbuffer *out, json_t *alerts)
{
	size_t i, j;

	evbuffer_add_printf(out,
	    "alert_id,type,device,created_at,message,at,"
	    "kind,actor,detail\r\n");
	for (i = 0; i < json_array_size(alerts); i++) {
		json_t *a = json_array_get(alerts, i);
		json_t *tl = json_object_get(a, "timeline");

		for (j = 0; j < json_array_size(tl); j++)
			console_export_csv_row(out, a, json_array_get(tl, j));
	}
}

static json_t *
console_export_alerts(struct console *c, json_t *ids)
{
	json_t *alerts = json_array(), *a;
	size_t i;

	for (i = 0; i < json_array_size(ids) && i < CONSOLE_EXPORT_MAX; i++) {
		const char *id = json_string_value(json_array_get(ids, i));

		if ((a = console_api_alert(c, id)) == NULL)
			continue;
		json_object_set_new(a, "timeline",
		    console_work_timeline(c, id));
		json_array_append_new(alerts, a);
	}
	return alerts;
}

static void
console_export_send(struct evhttp_request *req, json_t *alerts, int csv,
    const char *who)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();
	char now[RFC3339_LEN], disp[96];
	json_t *o;
	char *text;

	if (out == NULL)
		return;
	time_rfc3339(now, time(NULL));
	if (csv)
		console_export_csv(out, alerts);
	else {
		o = json_pack("{s:s, s:s, s:O}", "exported_at", now,
		    "exported_by", who, "alerts", alerts);
		text = o != NULL
		    ? json_dumps(o, JSON_INDENT(1) | JSON_REAL_PRECISION(15))
		    : NULL;
		if (text != NULL) {
			evbuffer_add(out, text, strlen(text));
			sodium_memzero(text, strlen(text));
		}
		free(text);
		json_decref(o);
	}
	console_http_headers(req,
	    csv ? "text/csv; charset=utf-8" : "application/json");
	snprintf(disp, sizeof(disp),
	    "attachment; filename=\"alertconsole-%.10s.%s\"", now,
	    csv ? "csv" : "json");
	evhttp_add_header(h, "Content-Disposition", disp);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static int
console_export_when(const char *s, long long *out)
{
	long v;

	if (s == NULL || parse_long(s, 0, 1L << 40, &v) != 0)
		return -1;
	*out = v;
	return 0;
}

void
console_export_request(struct console *c, struct evhttp_request *req,
    const struct console_session *s)
{
	const char *query =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq q;
	const char *alert, *format;
	long long from, to;
	json_t *ids = NULL, *alerts;
	int csv;

	TAILQ_INIT(&q);
	if (query == NULL || evhttp_parse_query_str(query, &q) != 0) {
		console_http_json(req, 400, "Bad Request",
		    json_pack("{s:s}", "error", "alert or from, to"));
		return;
	}
	alert = evhttp_find_header(&q, "alert");
	format = evhttp_find_header(&q, "format");
	csv = format != NULL && strcmp(format, "csv") == 0;
	if (alert != NULL && alert_id_valid(alert))
		ids = json_pack("[s]", alert);
	else if (console_export_when(evhttp_find_header(&q, "from"), &from) ==
	        0 &&
	    console_export_when(evhttp_find_header(&q, "to"), &to) == 0)
		ids = console_work_period(c, from, to);
	if (ids == NULL) {
		console_http_json(req, 400, "Bad Request",
		    json_pack("{s:s}", "error", "alert or from, to"));
	} else {
		alerts = console_export_alerts(c, ids);
		log_info("export operator=\"%s\" alerts=%zu format=%s",
		    s->u.name, json_array_size(alerts), csv ? "csv" : "json");
		(void)console_work_note_action(c, alert != NULL ? alert : "*",
		    "exported", s->u.name, csv ? "csv" : "json");
		console_export_send(req, alerts, csv, s->u.name);
		json_decref(alerts);
	}
	json_decref(ids);
	evhttp_clear_headers(&q);
}
