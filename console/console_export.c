/*
 * Exports of alerts and their timelines (console_export.h).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
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
#include "xmalloc.h"

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

#define CONSOLE_EXPORT_BACKLOG (256 * 1024) /* bytes unsent to the browser */
#define CONSOLE_EXPORT_WAIT                                                    \
	{                                                                      \
		0, 50000                                                       \
	} /* then the next turn after this */

/* One export under way: a chunk of alerts per turn of the event loop,
 * so a long period never holds the loop (and the other operators'
 * pages) for longer than CONSOLE_EXPORT_CHUNK alerts' decryption. */
struct console_export_job {
	TAILQ_ENTRY(console_export_job) entry;
	struct console_export *x;
	struct console *c;
	struct evhttp_request *req; /* NULL once the browser went */
	struct event *ev;
	json_t *ids;
	size_t next; /* the next of ids */
	size_t written; /* alerts in the JSON array so far */
	int csv;
};

struct console_export {
	struct event_base *base;
	TAILQ_HEAD(, console_export_job) jobs;
};

struct console_export *
console_export_new(struct event_base *base)
{
	struct console_export *x = xcalloc(1, sizeof(*x));

	x->base = base;
	TAILQ_INIT(&x->jobs);
	return x;
}

/* Ends the reply if the browser is still there (what was sent is all
 * it gets), and frees the job. */
static void
console_export_job_free(struct console_export_job *j)
{
	if (j->req != NULL) {
		console_http_on_close(j->req, NULL, NULL);
		evhttp_send_reply_end(j->req);
	}
	TAILQ_REMOVE(&j->x->jobs, j, entry);
	event_free(j->ev);
	json_decref(j->ids);
	free(j);
}

void
console_export_free(struct console_export *x)
{
	struct console_export_job *j;

	if (x == NULL)
		return;
	while ((j = TAILQ_FIRST(&x->jobs)) != NULL)
		console_export_job_free(j);
	free(x);
}

/* jansson's encoding of one string, for the JSON export's frame. */
static void
console_export_json_string(struct evbuffer *out, const char *s)
{
	json_t *v = json_string(s);
	char *t = v != NULL ? json_dumps(v, JSON_ENCODE_ANY) : NULL;

	evbuffer_add_printf(out, "%s", t != NULL ? t : "\"\"");
	free(t);
	json_decref(v);
}

/* One alert, opened, with its timeline, into out. */
static void
console_export_one(struct console_export_job *j, struct evbuffer *out,
    const char *id)
{
	json_t *a = console_api_alert(j->c, id), *tl;
	size_t k;
	char *text;

	if (a == NULL)
		return;
	tl = console_work_timeline(j->c, id);
	if (j->csv) {
		for (k = 0; k < json_array_size(tl); k++)
			console_export_csv_row(out, a, json_array_get(tl, k));
	} else {
		json_object_set(a, "timeline", tl);
		text = json_dumps(a, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
		if (text != NULL) {
			evbuffer_add_printf(out, "%s%s", j->written ? "," : "",
			    text);
			j->written++;
			sodium_memzero(text, strlen(text));
			free(text);
		}
	}
	json_decref(tl);
	json_decref(a);
}

static void
console_export_gone(struct evhttp_connection *conn, void *arg)
{
	struct console_export_job *j = arg;

	(void)conn;
	/* libevent has detached the unfinished request and leaves it to
	 * us: ending it frees it (as console_events.c does). */
	evhttp_send_reply_end(j->req);
	j->req = NULL;
	console_export_job_free(j);
}

/* A browser that reads slower than the console opens: what waits for
 * it stays under CONSOLE_EXPORT_BACKLOG, not the whole export. */
static int
console_export_backlog(struct console_export_job *j)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(
	    evhttp_request_get_connection(j->req));

	return bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) >
	    CONSOLE_EXPORT_BACKLOG;
}

/* A turn: the next chunk of alerts, then yield to the loop. */
static void
console_export_turn(evutil_socket_t fd, short what, void *arg)
{
	struct console_export_job *j = arg;
	struct evbuffer *out;
	size_t n = json_array_size(j->ids), end = j->next;
	const struct timeval now = {0, 0}, later = CONSOLE_EXPORT_WAIT;

	(void)fd;
	(void)what;
	if ((out = evbuffer_new()) == NULL) {
		console_export_job_free(j);
		return;
	}
	for (end += CONSOLE_EXPORT_CHUNK; j->next < n && j->next < end;
	     j->next++) {
		console_export_one(j, out,
		    json_string_value(json_array_get(j->ids, j->next)));
	}
	if (j->next >= n && !j->csv)
		evbuffer_add_printf(out, "]}\n");
	evhttp_send_reply_chunk(j->req, out);
	evbuffer_free(out);
	if (j->next < n) {
		event_add(j->ev, console_export_backlog(j) ? &later : &now);
		return;
	}
	console_export_job_free(j);
}

/* The headers and the frame's start, then the alerts a chunk a turn. */
static void
console_export_start(struct console *c, struct evhttp_request *req, json_t *ids,
    int csv, const char *who)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct console_export_job *j = xcalloc(1, sizeof(*j));
	struct evbuffer *out = evbuffer_new();
	const struct timeval now = {0, 0};
	char at[RFC3339_LEN], disp[96];

	j->x = c->exports;
	j->c = c;
	j->req = req;
	j->ids = json_incref(ids);
	j->csv = csv;
	j->ev = event_new(j->x->base, -1, 0, console_export_turn, j);
	TAILQ_INSERT_TAIL(&j->x->jobs, j, entry);
	time_rfc3339(at, time(NULL));
	console_http_headers(req,
	    csv ? "text/csv; charset=utf-8" : "application/json");
	snprintf(disp, sizeof(disp),
	    "attachment; filename=\"alertconsole-%.10s.%s\"", at,
	    csv ? "csv" : "json");
	evhttp_add_header(h, "Content-Disposition", disp);
	evhttp_send_reply_start(req, 200, "OK");
	console_http_on_close(req, console_export_gone, j);
	if (out != NULL && csv)
		evbuffer_add_printf(out,
		    "alert_id,type,device,created_at,message,at,"
		    "kind,actor,detail\r\n");
	else if (out != NULL) {
		evbuffer_add_printf(out, "{\"exported_at\": ");
		console_export_json_string(out, at);
		evbuffer_add_printf(out, ", \"exported_by\": ");
		console_export_json_string(out, who);
		evbuffer_add_printf(out, ", \"alerts\": [");
	}
	if (out != NULL) {
		evhttp_send_reply_chunk(req, out);
		evbuffer_free(out);
	}
	event_add(j->ev, &now);
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
	json_t *ids = NULL;
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
		ids = console_work_period(c, from, to, CONSOLE_EXPORT_MAX);
	if (ids == NULL) {
		console_http_json(req, 400, "Bad Request",
		    json_pack("{s:s}", "error", "alert or from, to"));
	} else {
		log_info("export operator=\"%s\" alerts=%zu format=%s",
		    s->u.name, json_array_size(ids), csv ? "csv" : "json");
		(void)console_work_note_action(c, alert != NULL ? alert : "*",
		    "exported", s->u.name, csv ? "csv" : "json");
		console_export_start(c, req, ids, csv, s->u.name);
	}
	json_decref(ids);
	evhttp_clear_headers(&q);
}
