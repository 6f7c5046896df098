/*
 * Exports of alerts and their timelines (console_export.h).
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
#include "console_req.h"
#include "console_static.h"
#include "console_work.h"
#include "evtimer_ms.h"
#include "http_guard.h"
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

/* One export under way: a page of alerts per turn of the event loop, by
 * the row id of their first delivery (no list of the period is held),
 * so a long period never holds the loop (and the other operators'
 * pages) for longer than CONSOLE_EXPORT_CHUNK alerts' decryption, and
 * while the browser has CONSOLE_EXPORT_BACKLOG bytes or more still to
 * take, nothing more is opened. */
struct console_export_job {
	TAILQ_ENTRY(console_export_job) entry;
	struct console_export *x;
	struct console *c;
	struct evhttp_request *req;
	struct event *ev;
	char alert[33]; /* one alert, or "": the period */
	long long from, to; /* the period, unix seconds, [from, to) */
	long long last; /* the row id of the last alert written */
	int64_t started_ms;
	const char *early; /* why it is being cut off, or NULL */
	size_t alerts, bytes; /* written so far */
	size_t max_unsent; /* the most that waited for the browser */
	int csv;
	char who[CONSOLE_NAME_MAX + 1];
};

struct console_export {
	struct event_base *base;
	TAILQ_HEAD(, console_export_job) jobs;
	long n;
};

struct console_export *
console_export_new(struct event_base *base)
{
	struct console_export *x = xcalloc(1, sizeof(*x));

	x->base = base;
	TAILQ_INIT(&x->jobs);
	return x;
}

static void
console_export_log(struct console_export_job *j, const char *how)
{
	char ln[CONSOLE_LOG_NAME];
	log_info("export %s operator=\"%s\"%s%s alerts=%zu bytes=%zu "
	         "max_unsent=%zu",
	    how, console_log_name(j->who, ln),
	    j->early != NULL ? " reason=" : "",
	    j->early != NULL ? j->early : "", j->alerts, j->bytes,
	    j->max_unsent);
}

static void
console_export_job_free(struct console_export_job *j)
{
	TAILQ_REMOVE(&j->x->jobs, j, entry);
	j->x->n--;
	event_free(j->ev);
	free(j);
}

/* Cuts the connection without the last chunk, so that the browser
 * sees an unfinished download, never a short export that looks whole:
 * evhttp reads the end, and console_export_gone frees the job. */
static void
console_export_cut(struct console_export_job *j, const char *why)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(j->req);
	struct bufferevent *bev =
	    conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;

	j->early = why;
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

void
console_export_free(struct console_export *x)
{
	struct console_export_job *j;

	if (x == NULL)
		return;
	/* At shutdown: cut off, the requests go with evhttp's connections. */
	while ((j = TAILQ_FIRST(&x->jobs)) != NULL) {
		console_http_on_close(j->req, NULL, NULL);
		console_export_cut(j, "shutdown");
		console_export_log(j, "ended early");
		console_export_job_free(j);
	}
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
		j->alerts++;
	} else {
		json_object_set(a, "timeline", tl);
		text = json_dumps(a, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
		if (text != NULL) {
			evbuffer_add_printf(out, "%s%s", j->alerts ? "," : "",
			    text);
			j->alerts++;
			sodium_memzero(text, strlen(text));
			free(text);
		}
	}
	json_decref(tl);
	json_decref(a);
}

/* The browser went, or the connection was cut (console_export_cut). */
static void
console_export_gone(struct evhttp_connection *conn, void *arg)
{
	struct console_export_job *j = arg;

	(void)conn;
	if (j->early == NULL)
		j->early = "gone";
	console_export_log(j, "ended early");
	/* libevent has detached the unfinished request and leaves it to
	 * us: ending it frees it (as console_events.c does). */
	evhttp_send_reply_end(j->req);
	console_export_job_free(j);
}

/* The next alerts into out: 1 when they were the last, 0 when more
 * follow, -1 on a database error. */
static int
console_export_chunk(struct console_export_job *j, struct evbuffer *out)
{
	struct console_work_first page[CONSOLE_EXPORT_CHUNK];
	int n, k;

	if (j->alert[0] != '\0') {
		console_export_one(j, out, j->alert);
		return 1;
	}
	n = console_work_period(j->c, j->from, j->to, j->last, page,
	    CONSOLE_EXPORT_CHUNK);
	for (k = 0; k < n; k++) {
		console_export_one(j, out, page[k].alert_id);
		j->last = page[k].id;
	}
	return n < 0 ? -1 : n < CONSOLE_EXPORT_CHUNK;
}

/* The whole export went: the last chunk, and the job is done. */
static void
console_export_done(struct console_export_job *j)
{
	console_http_on_close(j->req, NULL, NULL);
	evhttp_send_reply_end(j->req);
	console_export_log(j, "done");
	console_export_job_free(j);
}

/* A turn: unless the browser is behind or the time is up, the next
 * chunk of alerts, then yield to the loop. */
static void
console_export_turn(evutil_socket_t fd, short what, void *arg)
{
	struct console_export_job *j = arg;
	size_t unsent = http_guard_unsent(j->req);
	struct evbuffer *out;
	int last;

	(void)fd;
	(void)what;
	if (unsent > j->max_unsent)
		j->max_unsent = unsent;
	if (monotonic_ms() - j->started_ms >
	    (int64_t)j->c->cfg.export_timeout * 1000) {
		console_export_cut(j, "timeout");
		return;
	}
	if (unsent >= CONSOLE_EXPORT_BACKLOG) {
		evtimer_add_ms(j->ev, CONSOLE_EXPORT_WAIT_MS);
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		console_export_cut(j, "memory");
		return;
	}
	last = console_export_chunk(j, out);
	if (last == 1 && !j->csv)
		evbuffer_add_printf(out, "]}\n");
	j->bytes += evbuffer_get_length(out);
	evhttp_send_reply_chunk(j->req, out);
	evbuffer_free(out);
	if (last < 0)
		console_export_cut(j, "database");
	else if (last)
		console_export_done(j);
	else
		evtimer_add_ms(j->ev, 0);
}

/* The headers of the download; the body follows unless it is HEAD. */
static void
console_export_headers(struct evhttp_request *req, int csv)
{
	char at[RFC3339_LEN], disp[96];

	time_rfc3339(at, time(NULL));
	console_http_headers(req,
	    csv ? "text/csv; charset=utf-8" : "application/json");
	snprintf(disp, sizeof(disp),
	    "attachment; filename=\"alertconsole-%.10s.%s\"", at,
	    csv ? "csv" : "json");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Disposition", disp);
}

/* The frame's start, then the alerts a chunk a turn.  No
 * TCP_USER_TIMEOUT here, unlike an event stream (console_events.c): a
 * browser that stops reading keeps a zero window, which Linux then
 * ends like lost data, and a paused download is a reader an export
 * waits for (CONSOLE_EXPORT_BACKLOG); one whose browser vanished is
 * cut off at export_timeout, freeing its place in max_exports. */
static void
console_export_start(struct console *c, struct evhttp_request *req,
    struct console_export_job *j)
{
	struct evbuffer *out = evbuffer_new();
	char at[RFC3339_LEN];

	j->x = c->exports;
	j->c = c;
	j->req = req;
	j->started_ms = monotonic_ms();
	TAILQ_INSERT_TAIL(&j->x->jobs, j, entry);
	j->x->n++;
	console_export_headers(req, j->csv);
	evhttp_send_reply_start(req, 200, "OK");
	console_http_on_close(req, console_export_gone, j);
	time_rfc3339(at, time(NULL));
	if (out != NULL && j->csv)
		evbuffer_add_printf(out,
		    "alert_id,type,device,created_at,message,at,"
		    "kind,actor,detail\r\n");
	else if (out != NULL) {
		evbuffer_add_printf(out, "{\"exported_at\": ");
		console_export_json_string(out, at);
		evbuffer_add_printf(out, ", \"exported_by\": ");
		console_export_json_string(out, j->who);
		evbuffer_add_printf(out, ", \"alerts\": [");
	}
	if (out != NULL) {
		j->bytes += evbuffer_get_length(out);
		evhttp_send_reply_chunk(req, out);
		evbuffer_free(out);
	}
	evtimer_add_ms(j->ev, 0);
}

/* The operator's language, else the browser's: the download is a page
 * of its own, so its refusal is said in words, not as {"error"}. */
static const char *
console_export_says(struct evhttp_request *req, const struct console_session *s,
    const char *key, const char **lang)
{
	const char *al =
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	        "Accept-Language");
	const struct console_static_file *f;
	static char text[512];
	const char *t;
	json_t *o;

	*lang = s->u.lang[0] != '\0'                      ? s->u.lang
	    : al != NULL && strncasecmp(al, "en", 2) == 0 ? "en"
	                                                  : "nl";
	f = console_static_find(
	    strcmp(*lang, "en") == 0 ? "/lang/en.json" : "/lang/nl.json");
	o = f != NULL ? json_loadb(f->data, f->len, 0, NULL) : NULL;
	t = json_string_value(json_object_get(o, key));
	snprintf(text, sizeof(text), "%s\n", t != NULL ? t : key);
	json_decref(o);
	return text;
}

/* max_exports are under way: 503, try again later. */
static void
console_export_busy(struct console *c, struct evhttp_request *req,
    const struct console_session *s)
{
	char ln[CONSOLE_LOG_NAME];
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	const char *lang,
	    *text = console_export_says(req, s, "export.busy", &lang);

	log_warnx("export refused operator=\"%s\" reason=max_exports "
	          "max_exports=%ld",
	    console_log_name(s->u.name, ln), c->cfg.max_exports);
	console_http_headers(req, "text/plain; charset=utf-8");
	evhttp_add_header(h, "Retry-After", CONSOLE_EXPORT_RETRY_S);
	evhttp_add_header(h, "Content-Language", lang);
	if (b != NULL)
		evbuffer_add(b, text, strlen(text));
	evhttp_send_reply(req, 503, "Service Unavailable", b);
	if (b != NULL)
		evbuffer_free(b);
}

/* What was asked, into j: one known alert, or a period.  -1 when
 * neither (answered 400 or 404). */
static int
console_export_what(struct console *c, struct evhttp_request *req,
    const char *query, struct console_export_job *j)
{
	struct console_export_args a;
	int rc = console_req_export(query, &a);

	/* nothing to export, and nothing recorded */
	if (rc == -2 ||
	    (rc == 0 && a.alert[0] != '\0' &&
	        !console_work_known(c, a.alert))) {
		console_http_error(req, 404, "no such alert");
		return -1;
	}
	if (rc != 0) {
		console_http_json(req, 400, "Bad Request",
		    json_pack("{s:s}", "error", "alert or from, to"));
		return -1;
	}
	snprintf(j->alert, sizeof(j->alert), "%s", a.alert);
	j->from = a.from;
	j->to = a.to;
	j->csv = a.csv;
	return 0;
}

/* The timeline row: the format, and for a period its bounds. */
static int
console_export_record(struct console *c, const struct console_export_job *j)
{
	char detail[96], f[RFC3339_LEN], t[RFC3339_LEN];
	const char *fmt = j->csv ? "csv" : "json";

	if (j->alert[0] != '\0')
		return console_work_note_action(c, j->alert, "exported", j->who,
		    fmt);
	time_rfc3339(f, (time_t)j->from);
	time_rfc3339(t, (time_t)j->to);
	snprintf(detail, sizeof(detail), "%s from=%s to=%s", fmt, f, t);
	return console_work_note_action(c, "*", "exported", j->who, detail);
}

/* GET or HEAD /api/export.  A GET only reads, but writes a timeline
 * row: a page of another site must not make a logged-in browser ask
 * for one.  The session cookie is SameSite=Strict (console_auth.c), so
 * a cross-site link, form or navigation comes without it and gets 401;
 * the Origin/Sec-Fetch-Site check of the POSTs (console_auth_origin)
 * refuses such a request here as well, should a browser send the
 * cookie anyway.  A download started from the console's own page is
 * same-origin, one typed or bookmarked "none". */
void
console_export_request(struct console *c, struct evhttp_request *req,
    const struct console_session *s)
{
	char ln[CONSOLE_LOG_NAME];
	const char *query =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct console_export_job *j;

	if (console_auth_origin(c, req) != 0)
		return;
	j = xcalloc(1, sizeof(*j));
	snprintf(j->who, sizeof(j->who), "%s", s->u.name);
	if (console_export_what(c, req, query, j) != 0)
		free(j);
	else if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* the headers a GET would get, and nothing opened */
		console_export_headers(req, j->csv);
		evhttp_send_reply(req, 200, "OK", NULL);
		free(j);
	} else if (c->exports->n >= c->cfg.max_exports) {
		console_export_busy(c, req, s);
		free(j);
	} else if ((j->ev = evtimer_new(c->exports->base, console_export_turn,
	                j)) == NULL ||
	    console_export_record(c, j) != 0) {
		if (j->ev != NULL)
			event_free(j->ev);
		free(j);
		console_http_error(req, 500, "db");
	} else {
		if (j->alert[0] != '\0')
			log_info("export started operator=\"%s\" format=%s "
			         "alert=%s",
			    console_log_name(s->u.name, ln),
			    j->csv ? "csv" : "json", j->alert);
		else
			log_info("export started operator=\"%s\" format=%s "
			         "from=%lld to=%lld",
			    console_log_name(s->u.name, ln),
			    j->csv ? "csv" : "json", j->from, j->to);
		console_export_start(c, req, j);
	}
}
