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
#include "console_notice.h"
#include "log.h"
#include "xmalloc.h"

static const int console_metrics_buckets[] = {10, 30, 60, 120, 300, 600, 1800};
#define CONSOLE_METRICS_NB                                                     \
	(sizeof(console_metrics_buckets) / sizeof(console_metrics_buckets[0]))

struct console_metrics_hist {
	long long count[CONSOLE_METRICS_NB], n, sum;
};

/* What the histograms and the total have seen: each alert counts once,
 * when the last of its two ends is committed (its first delivery and
 * its first claim, or its first acknowledgement). */
struct console_metrics {
	long long alerts; /* distinct alerts delivered */
	struct console_metrics_hist claim, ack;
};

/* Received: each alert's first delivery; taken: the first claim, or
 * the first acknowledgement from any channel, this console's or a
 * signed one (notice_signed: console_notice_sql).  Read once, at
 * start. */
static const char console_metrics_claim_sql[] =
    "SELECT c.t - w.r FROM (SELECT alert_id, MIN(stored_at) AS r FROM "
    "webhook WHERE is_alert = 1 GROUP BY alert_id) w JOIN (SELECT "
    "alert_id, MIN(at) AS t FROM timeline WHERE kind = 'claimed' GROUP BY "
    "alert_id) c USING (alert_id)";
/* clang-format breaks the SQL's concatenation mid-word: */
/* clang-format off */
static const char console_metrics_ack_sql[] =
    "SELECT c.t - w.r FROM (SELECT alert_id, MIN(stored_at) AS r FROM "
    "webhook WHERE is_alert = 1 GROUP BY alert_id) w JOIN (SELECT "
    "alert_id, MIN(t) AS t FROM (SELECT alert_id, at AS t FROM timeline "
    "WHERE kind = 'acknowledged' UNION ALL SELECT alert_id, stored_at FROM "
    "webhook n WHERE type = 'alert.acknowledged' AND recipient_id = "
    CONSOLE_DB_ALERT_RCPT("n.alert_id") " AND notice_signed(id, "
    "recipient_id, type, body, " CONSOLE_DB_ALERT_BODY("n.alert_id") "))"
    " GROUP BY alert_id) c USING (alert_id)";
/* clang-format on */
static const char console_metrics_total_sql[] =
    "SELECT COUNT(DISTINCT alert_id) FROM webhook WHERE is_alert = 1";

/* One alert's ends, each through webhook_alert or timeline_alert (the
 * "+" keep the planner off the partial indexes of every delivery and
 * every closure): deliveries and the first; claims and the first;
 * acknowledgements from any channel and the first. */
/* clang-format off */
static const char console_metrics_one_sql[] =
    "SELECT (SELECT COUNT(*) FROM webhook WHERE alert_id = ?1 AND"
    "  +is_alert = 1),"
    " (SELECT MIN(stored_at) FROM webhook WHERE alert_id = ?1 AND"
    "  +is_alert = 1),"
    " (SELECT COUNT(*) FROM timeline WHERE alert_id = ?1 AND"
    "  +kind = 'claimed'),"
    " (SELECT MIN(at) FROM timeline WHERE alert_id = ?1 AND"
    "  +kind = 'claimed'),"
    " (SELECT COUNT(*) FROM (" CONSOLE_DB_ACK_TIMES("?1") ")),"
    " (SELECT MIN(t) FROM (" CONSOLE_DB_ACK_TIMES("?1") "))";
/* clang-format on */

/* Waiting for a person (CONSOLE_DB_WAITING), among the open alerts
 * (console_db.c's table of open alerts, so the count costs what the
 * queue holds, not the history). */
static const char console_metrics_waiting_sql[] =
    "SELECT COUNT(*) FROM open_alert o WHERE " CONSOLE_DB_WAITING("o");

static void
console_metrics_observe(struct console_metrics_hist *h, long long v)
{
	size_t i;

	v = v < 0 ? 0 : v;
	for (i = 0; i < CONSOLE_METRICS_NB; i++)
		if (v <= console_metrics_buckets[i])
			h->count[i]++;
	h->sum += v;
	h->n++;
}

static int
console_metrics_load_hist(sqlite3 *db, struct console_metrics_hist *h,
    const char *sql)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		console_metrics_observe(h, sqlite3_column_int64(s, 0));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
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

int
console_metrics_load(struct console *c)
{
	sqlite3 *db = console_db_sqlite(c->db);
	struct console_metrics *m;

	if (c->cfg.metrics_listen == NULL)
		return 0; /* nobody scrapes: nothing kept */
	m = xcalloc(1, sizeof(*m));
	if ((m->alerts = console_metrics_one(db, console_metrics_total_sql)) <
	        0 ||
	    console_metrics_load_hist(db, &m->claim,
	        console_metrics_claim_sql) != 0 ||
	    console_metrics_load_hist(db, &m->ack, console_metrics_ack_sql) !=
	        0) {
		log_warnx("database: metrics: %s", sqlite3_errmsg(db));
		free(m);
		return -1;
	}
	c->metrics = m;
	return 0;
}

void
console_metrics_free(struct console *c)
{
	free(c->metrics);
	c->metrics = NULL;
}

/* The alert's ends now; e says which one was just committed, so that
 * the alert counts at the commit that completed it, and only then. */
void
console_metrics_note(struct console *c, const char *alert_id,
    enum console_metrics_event e)
{
	sqlite3 *db = console_db_sqlite(c->db);
	struct console_metrics *m = c->metrics;
	long long n[6];
	sqlite3_stmt *s;
	int i, row;

	if (m == NULL)
		return;
	if ((s = console_db_stmt(c->db, console_metrics_one_sql)) == NULL)
		return;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	if ((row = sqlite3_step(s) == SQLITE_ROW))
		for (i = 0; i < 6; i++)
			n[i] = sqlite3_column_int64(s, i);
	console_db_release(s);
	if (!row) {
		log_warnx("database: metrics: %s", sqlite3_errmsg(db));
		return;
	}
	/* n: deliveries, first; claims, first; acknowledgements, first */
	if (e == CONSOLE_METRICS_DELIVERED && n[0] == 1) {
		m->alerts++;
		if (n[2] > 0)
			console_metrics_observe(&m->claim, n[3] - n[1]);
		if (n[4] > 0)
			console_metrics_observe(&m->ack, n[5] - n[1]);
	} else if (e == CONSOLE_METRICS_CLAIMED && n[2] == 1 && n[0] > 0)
		console_metrics_observe(&m->claim, n[3] - n[1]);
	else if (e == CONSOLE_METRICS_ACKED && n[4] == 1 && n[0] > 0)
		console_metrics_observe(&m->ack, n[5] - n[1]);
}

static void
console_metrics_histogram(struct evbuffer *out, const char *name,
    const char *help, const struct console_metrics_hist *h)
{
	size_t i;

	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name,
	    help, name);
	for (i = 0; i < CONSOLE_METRICS_NB; i++)
		evbuffer_add_printf(out, "%s_bucket{le=\"%d\"} %lld\n", name,
		    console_metrics_buckets[i], h->count[i]);
	evbuffer_add_printf(out,
	    "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %lld\n%s_count %lld\n", name,
	    h->n, name, h->sum, name, h->n);
}

/* At each scrape, and for the streams of ended sessions: prepared once
 * (console_db_stmt). */
long long
console_metrics_waiting(struct console *c)
{
	sqlite3_stmt *s = console_db_stmt(c->db, console_metrics_waiting_sql);
	long long v = -1;

	if (s == NULL)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	console_db_release(s);
	return v;
}

/* The gauge from the open alerts, the rest from memory. */
static void
console_metrics_text(struct console *c, const struct console_metrics *m,
    struct evbuffer *out)
{
	evbuffer_add_printf(out,
	    "# HELP alertconsole_alerts_waiting Alerts no person has taken "
	    "yet (not claimed, acknowledged, cancelled or closed; a cancel "
	    "or acknowledgement only the relay vouches for takes none).\n"
	    "# TYPE alertconsole_alerts_waiting gauge\n"
	    "alertconsole_alerts_waiting %lld\n"
	    "# HELP alertconsole_alerts_total Alerts received.\n"
	    "# TYPE alertconsole_alerts_total counter\n"
	    "alertconsole_alerts_total %lld\n",
	    console_metrics_waiting(c), m->alerts);
	console_metrics_histogram(out, "alertconsole_time_to_claim_seconds",
	    "From an alert's arrival to its first claim.", &m->claim);
	console_metrics_histogram(out, "alertconsole_time_to_ack_seconds",
	    "From an alert's arrival to its first acknowledgement, in "
	    "this console or signed by a recipient.",
	    &m->ack);
}

void
console_metrics_request(struct console *c, struct evhttp_request *req)
{
	sqlite3 *db = c->db != NULL ? console_db_sqlite(c->db) : NULL;
	struct evbuffer *out;

	if (db == NULL || c->metrics == NULL ||
	    (out = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	console_metrics_text(c, c->metrics, out);
	console_http_headers(req, "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}
