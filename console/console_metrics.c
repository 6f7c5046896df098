/*
 * The console's Prometheus metrics (console_metrics.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sqlite3.h>

#include "console.h"
#include "console_db.h"
#include "console_metrics.h"
#include "xmalloc.h"

/* The last answer, and the newest webhook and timeline rows it was made
 * from.  The histograms read the whole history; a scrape with no new
 * row since (most of them: Prometheus asks every 15 s, alerts come far
 * less often) is answered from here and costs two index lookups, not
 * a pass over the history on the event loop.  Every change the metrics
 * show comes with a new row (a claim, release or closure writes the
 * timeline in its transaction).  One console per process: one cache. */
static struct {
	long long webhook_id, timeline_id;
	char *text;
	size_t len;
} console_metrics_cache = {-1, -1, NULL, 0};

static const int console_metrics_buckets[] = {10, 30, 60, 120, 300, 600, 1800};
#define CONSOLE_METRICS_NB                                                     \
	(sizeof(console_metrics_buckets) / sizeof(console_metrics_buckets[0]))

/* Received: each alert's first delivery; taken: the first claim, or
 * the first acknowledgement from any channel. */
static const char console_metrics_claim_sql[] =
    "SELECT c.t - w.r FROM (SELECT alert_id, MIN(stored_at) AS r FROM "
    "webhook WHERE is_alert = 1 GROUP BY alert_id) w JOIN (SELECT "
    "alert_id, MIN(at) AS t FROM timeline WHERE kind = 'claimed' GROUP BY "
    "alert_id) c USING (alert_id)";
static const char console_metrics_ack_sql[] =
    "SELECT c.t - w.r FROM (SELECT alert_id, MIN(stored_at) AS r FROM "
    "webhook WHERE is_alert = 1 GROUP BY alert_id) w JOIN (SELECT "
    "alert_id, MIN(t) AS t FROM (SELECT alert_id, at AS t FROM timeline "
    "WHERE kind = 'acknowledged' UNION ALL SELECT alert_id, stored_at FROM "
    "webhook WHERE type = 'alert.acknowledged') GROUP BY alert_id) c "
    "USING (alert_id)";
/* Waiting for a person: open (not closed: console_db.c's table of open
 * alerts, so the count costs what the queue holds, not the history),
 * neither claimed, acknowledged nor cancelled. */
static const char console_metrics_waiting_sql[] =
    "SELECT COUNT(*) FROM open_alert o WHERE "
    "NOT EXISTS (SELECT 1 FROM claim c WHERE c.alert_id = o.alert_id) "
    "AND NOT EXISTS (SELECT 1 FROM webhook n WHERE n.alert_id = "
    "o.alert_id AND n.type IN ('alert.acknowledged', 'alert.cancelled')) "
    "AND NOT EXISTS (SELECT 1 FROM timeline t WHERE t.alert_id = "
    "o.alert_id AND +t.kind IN ('closed', 'acknowledged'))";

static void
console_metrics_histogram(sqlite3 *db, struct evbuffer *out, const char *name,
    const char *help, const char *sql)
{
	long long count[CONSOLE_METRICS_NB] = {0}, n = 0, sum = 0, v;
	sqlite3_stmt *s;
	size_t i;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(s) == SQLITE_ROW) {
		v = sqlite3_column_int64(s, 0);
		v = v < 0 ? 0 : v;
		for (i = 0; i < CONSOLE_METRICS_NB; i++)
			if (v <= console_metrics_buckets[i])
				count[i]++;
		sum += v;
		n++;
	}
	sqlite3_finalize(s);
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name,
	    help, name);
	for (i = 0; i < CONSOLE_METRICS_NB; i++)
		evbuffer_add_printf(out, "%s_bucket{le=\"%d\"} %lld\n", name,
		    console_metrics_buckets[i], count[i]);
	evbuffer_add_printf(out,
	    "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %lld\n%s_count %lld\n", name,
	    n, name, sum, name, n);
}

static long long
console_metrics_one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* The metrics, computed from the database now. */
static void
console_metrics_compute(sqlite3 *db, struct evbuffer *out)
{
	evbuffer_add_printf(out,
	    "# HELP alertconsole_alerts_waiting Alerts no person has taken "
	    "yet (not claimed, acknowledged, cancelled or closed).\n"
	    "# TYPE alertconsole_alerts_waiting gauge\n"
	    "alertconsole_alerts_waiting %lld\n"
	    "# HELP alertconsole_alerts_total Alerts received.\n"
	    "# TYPE alertconsole_alerts_total counter\n"
	    "alertconsole_alerts_total %lld\n",
	    console_metrics_one(db, console_metrics_waiting_sql),
	    console_metrics_one(db,
	        "SELECT COUNT(DISTINCT alert_id) FROM "
	        "webhook WHERE is_alert = 1"));
	console_metrics_histogram(db, out, "alertconsole_time_to_claim_seconds",
	    "From an alert's arrival to its first claim.",
	    console_metrics_claim_sql);
	console_metrics_histogram(db, out, "alertconsole_time_to_ack_seconds",
	    "From an alert's arrival to its first acknowledgement, any "
	    "channel.",
	    console_metrics_ack_sql);
}

/* The cached answer when no row came since, else a new one, kept. */
static void
console_metrics_text(sqlite3 *db, struct evbuffer *out)
{
	long long w = console_metrics_one(db, "SELECT MAX(id) FROM webhook");
	long long t = console_metrics_one(db, "SELECT MAX(id) FROM timeline");

	if (console_metrics_cache.text == NULL ||
	    w != console_metrics_cache.webhook_id ||
	    t != console_metrics_cache.timeline_id) {
		console_metrics_compute(db, out);
		free(console_metrics_cache.text);
		console_metrics_cache.len = evbuffer_get_length(out);
		console_metrics_cache.text =
		    xmalloc(console_metrics_cache.len + 1);
		evbuffer_copyout(out, console_metrics_cache.text,
		    console_metrics_cache.len);
		console_metrics_cache.webhook_id = w;
		console_metrics_cache.timeline_id = t;
		return;
	}
	evbuffer_add(out, console_metrics_cache.text,
	    console_metrics_cache.len);
}

void
console_metrics_request(struct console *c, struct evhttp_request *req)
{
	sqlite3 *db = console_db_sqlite(c->db);
	struct evbuffer *out = evbuffer_new();

	if (out == NULL || db == NULL) {
		if (out != NULL)
			evbuffer_free(out);
		evhttp_send_error(req, 503, NULL);
		return;
	}
	console_metrics_text(db, out);
	console_http_headers(req, "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}
