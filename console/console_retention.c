/*
 * The retention sweep (console_retention.h): every sweep_interval
 * seconds, through each class in steps of at most
 * CONSOLE_RETENTION_STEP alerts (or rows), each step one short
 * transaction and then back to the event loop, so that a webhook or a
 * page waits for one step at most, never for the whole sweep.  A step
 * that removed something records what and how many in retention_log,
 * in its own transaction.  Its statements are its own (prepared at the
 * first sweep), not the per-request ones of console_db_stmt.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "console.h"
#include "console_db.h"
#include "console_db_view.h"
#include "console_retention.h"
#include "log.h"

#define CONSOLE_RETENTION_STEP 50 /* alerts, or rows, per step */
#define CONSOLE_RETENTION_PAGES 256 /* pages given back per step */
#define CONSOLE_RETENTION_FIRST 2 /* seconds from start to the first */

enum {
	RS_SETTING,
	RS_CONTENT,
	RS_HISTORY,
	RS_LOGINS,
	RS_NOTICES,
	RS_DEVICES,
	RS_SESSIONS,
	RS_VACUUM,
	RS_DONE
};

/* The closures of one step: after the cursor ?1, up to ?2, closed at
 * or before ?3, and not followed by a reopening (a duress alarm: the
 * alert is open again, console_db.c).  By row id (the unary + keeps
 * the planner off the other indexes), so a step reads its own span of
 * the timeline, not every closure older than the period. */
#define RS_CLOSED_SEL                                                          \
	"SELECT alert_id FROM timeline WHERE id > ?1 AND id <= ?2 AND"         \
	" +kind = 'closed' AND +at <= ?3 AND id > " CONSOLE_DB_REOPENED(       \
	    "timeline.alert_id")
/* The device notices of a step: stored at or before ?1, ?2 of them, by
 * the index webhook_notice (spelt as it is); one that shares its id with
 * an alert's rows waits for that alert's periods. */
#define RS_NOTICE_SEL                                                          \
	"SELECT alert_id FROM webhook WHERE type "                             \
	"IN " CONSOLE_RETENTION_NOTICE_TYPES                                   \
	" AND stored_at <= ?1 AND " CONSOLE_RETENTION_NOTICE_ONLY(             \
	    "webhook.alert_id") " ORDER BY stored_at LIMIT ?2"

/* The statements, by the index of the step that runs them. */
static const char *const rs_sql[] = {
    /* 0: the setting the triggers read; a change is logged by them */
    "INSERT INTO retention_setting (id, alert_content, alert_history,"
    " device_state) VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET"
    " alert_content = excluded.alert_content, alert_history ="
    " excluded.alert_history, device_state = excluded.device_state WHERE"
    " alert_content <> excluded.alert_content OR alert_history <>"
    " excluded.alert_history OR device_state <> excluded.device_state",
    /* 1: the next closures of a step: how many, the last */
    "SELECT COUNT(*), MAX(id) FROM (SELECT id FROM timeline WHERE kind ="
    " 'closed' AND id > ?1 AND +at <= ?3 ORDER BY id LIMIT ?2)",
    /* 2-5: what goes with them */
    "DELETE FROM webhook WHERE alert_id IN (" RS_CLOSED_SEL ")",
    "DELETE FROM claim WHERE alert_id IN (" RS_CLOSED_SEL ")",
    "DELETE FROM timeline WHERE kind <> 'closed' AND alert_id IN "
    "(" RS_CLOSED_SEL ")",
    /* every closure of theirs: one before a reopening too */
    "DELETE FROM timeline WHERE +kind = 'closed' AND alert_id IN "
    "(" RS_CLOSED_SEL ")",
    /* 6-7: device notices, their timeline rows first (the trigger
     * looks at the webhook) */
    "DELETE FROM timeline WHERE alert_id IN (" RS_NOTICE_SEL ")",
    "DELETE FROM webhook WHERE alert_id IN (" RS_NOTICE_SEL ")",
    /* 8: devices of which no notice came within the period (by when the
     * console heard, heard_at, not the relay's created_at: through the
     * index device_state_heard); 9: sessions long ended */
    "DELETE FROM device_state WHERE rowid IN (SELECT rowid FROM"
    " device_state WHERE heard_at <= ?1 ORDER BY heard_at LIMIT ?2)",
    "DELETE FROM session WHERE rowid IN (SELECT rowid FROM session WHERE"
    " seen_at <= ?1 LIMIT ?2)",
    /* 10: the record of a step */
    "INSERT INTO retention_log (at, by, what, rows, detail) VALUES (?1,"
    " 'retention', ?2, ?3, ?4)",
    /* 11: the operators' logins and logouts (alert_id '*'), by
     * alert_history from when they were written */
    "DELETE FROM timeline WHERE id IN (SELECT id FROM timeline WHERE"
    " alert_id = '*' AND at <= ?1 ORDER BY id LIMIT ?2)",
    /* 12: which device the alerts were of (before their closures go) */
    "DELETE FROM alert_device WHERE alert_id IN (" RS_CLOSED_SEL ")",
};
#define RS_NSQL (sizeof(rs_sql) / sizeof(rs_sql[0]))

static const char *const rs_what[] = {"setting", "alert_content",
    "alert_history", "logins", "device_notices", "device_state", "sessions",
    "vacuum"};

struct console_retention {
	struct console *c;
	struct event *ev;
	sqlite3_stmt *s[RS_NSQL];
	int phase;
	long long cursor[2]; /* content, history: the last closure done */
	long long removed; /* rows in this sweep */
	unsigned steps;
	double longest_ms;
	const char *longest; /* the phase of the longest step */
	long long data_version; /* PRAGMA data_version at the last sweep */
	int wal_pending; /* the WAL still to be truncated (was busy) */
};

static sqlite3 *
rs_db(struct console_retention *r)
{
	return console_db_sqlite(r->c->db);
}

static int
rs_prepare(struct console_retention *r)
{
	size_t i;

	for (i = 0; i < RS_NSQL; i++)
		if (r->s[i] == NULL &&
		    sqlite3_prepare_v3(rs_db(r), rs_sql[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &r->s[i],
		        NULL) != SQLITE_OK) {
			log_warnx("retention: %s", sqlite3_errmsg(rs_db(r)));
			return -1;
		}
	return 0;
}

/* Runs statement i with up to three integers; the rows it changed, or
 * -1. */
static long long
rs_run(struct console_retention *r, size_t i, long long a, long long b,
    long long c)
{
	sqlite3_stmt *s = r->s[i];
	int n = sqlite3_bind_parameter_count(s), rc;

	sqlite3_bind_int64(s, 1, a);
	if (n >= 2)
		sqlite3_bind_int64(s, 2, b);
	if (n >= 3)
		sqlite3_bind_int64(s, 3, c);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("retention: %s", sqlite3_errmsg(rs_db(r)));
		return -1;
	}
	return sqlite3_changes64(rs_db(r));
}

static int
rs_record(struct console_retention *r, long long rows, long long alerts)
{
	sqlite3_stmt *s = r->s[10];
	char detail[48] = "";
	int rc;

	if (alerts > 0)
		snprintf(detail, sizeof(detail), "alerts=%lld", alerts);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(s, 2, rs_what[r->phase], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, rows);
	sqlite3_bind_text(s, 4, detail, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The next closures older than period after the phase's cursor: how
 * many (0: the phase is done), the last in *last. */
static long long
rs_closures(struct console_retention *r, long long cursor, time_t cutoff,
    long long *last)
{
	sqlite3_stmt *s = r->s[1];
	long long n = -1;

	sqlite3_bind_int64(s, 1, cursor);
	sqlite3_bind_int64(s, 2, CONSOLE_RETENTION_STEP);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)cutoff);
	if (sqlite3_step(s) == SQLITE_ROW) {
		n = sqlite3_column_int64(s, 0);
		*last = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return n;
}

/* One step of alert_content (history 0) or alert_history (1): the rows
 * removed, or -1; *more when closures may be left. */
static long long
rs_closed_step(struct console_retention *r, int history, long period,
    long long *alerts, int *more)
{
	time_t cutoff = time(NULL) - period;
	/* the statements of rs_sql, in order: the closures last, as the
	 * others select by them */
	static const size_t steps[] = {2, 3, 12, 4, 5};
	long long *cur = &r->cursor[history], last = 0, sum = 0, k;
	size_t i;

	if (period == 0)
		return 0;
	if ((*alerts = rs_closures(r, *cur, cutoff, &last)) <= 0)
		return *alerts;
	for (i = 0; i < (history ? 5u : 1u); i++) {
		if ((k = rs_run(r, steps[i], *cur, last, cutoff)) < 0)
			return -1;
		sum += k;
	}
	*cur = last;
	*more = *alerts == CONSOLE_RETENTION_STEP;
	return sum;
}

/* One step of the logins, the device notices (their timeline rows,
 * then their webhooks), the devices' states or the sessions. */
static long long
rs_rows_step(struct console_retention *r, int *more)
{
	const struct console_config *cfg = &r->c->cfg;
	int ph = r->phase;
	long period = ph == RS_LOGINS ? cfg->retention.alert_history
	    : ph == RS_SESSIONS       ? cfg->retention.sessions
	                              : cfg->retention.device_state;
	time_t cutoff =
	    time(NULL) - period - (ph == RS_SESSIONS ? cfg->session_idle : 0);
	size_t i = ph == RS_LOGINS ? 11
	    : ph == RS_NOTICES     ? 6
	    : ph == RS_DEVICES     ? 8
	                           : 9;
	long long k, sum = 0;

	if (period == 0)
		return 0;
	if (ph == RS_NOTICES &&
	    (sum = rs_run(r, i++, cutoff, CONSOLE_RETENTION_STEP, 0)) < 0)
		return -1;
	if ((k = rs_run(r, i, cutoff, CONSOLE_RETENTION_STEP, 0)) < 0)
		return -1;
	*more = k == CONSOLE_RETENTION_STEP;
	return sum + k;
}

/* The step of the phase, in one transaction with its record. */
static int
rs_step(struct console_retention *r, int *more)
{
	const struct console_retention_cfg *rc = &r->c->cfg.retention;
	long long n, alerts = 0;

	if (sqlite3_exec(rs_db(r), "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return -1;
	if (r->phase == RS_SETTING)
		n = rs_run(r, 0, rc->alert_content, rc->alert_history,
		        rc->device_state) < 0
		    ? -1
		    : 0;
	else if (r->phase == RS_CONTENT || r->phase == RS_HISTORY)
		n = rs_closed_step(r, r->phase == RS_HISTORY,
		    r->phase == RS_HISTORY ? rc->alert_history
		                           : rc->alert_content,
		    &alerts, more);
	else
		n = rs_rows_step(r, more);
	if (n < 0 || (n > 0 && rs_record(r, n, alerts) != 0) ||
	    sqlite3_exec(rs_db(r), "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("retention: %s: %s", rs_what[r->phase],
		    sqlite3_errmsg(rs_db(r)));
		(void)sqlite3_exec(rs_db(r), "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	r->removed += n;
	return 0;
}

/* Free pages back to the file system, a few at a time: only where the
 * database was made with auto_vacuum=incremental (console_db.c does so
 * for a new one); otherwise SQLite reuses them for new rows. */
static int
rs_vacuum(struct console_retention *r, int *more)
{
	sqlite3_stmt *s;
	int mode = 0, left = 0;
	char sql[64];

	if (r->removed == 0)
		return 0;
	if (sqlite3_prepare_v2(rs_db(r), "PRAGMA auto_vacuum", -1, &s, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			mode = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	if (mode != 2)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)",
	    CONSOLE_RETENTION_PAGES);
	if (sqlite3_exec(rs_db(r), sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(rs_db(r), "PRAGMA freelist_count", -1, &s,
	        NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			left = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	*more = left > 0;
	return 0;
}

static double
rs_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static void
rs_arm(struct console_retention *r, long seconds)
{
	struct timeval tv = {seconds, 0};

	evtimer_add(r->ev, &tv);
}

/* Moves when another connection commits (an `alertconsole forget`
 * beside the console), not for this one's own writes. */
static long long
rs_data_version(struct console_retention *r)
{
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_prepare_v2(rs_db(r), "PRAGMA data_version", -1, &s, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	return v;
}

/* After a sweep that removed rows, or another process's commit (forget
 * truncates the WAL itself, but may have found it busy): the WAL cut to
 * nothing (console_db_truncate), so that the bytes of what went do not
 * stay in console.db-wal.  On the event loop it waits for no reader;
 * busy (a backup's snapshot), it is tried again at the next sweep. */
static void
rs_truncate(struct console_retention *r)
{
	long long v = rs_data_version(r);

	if (r->removed == 0 && !r->wal_pending && v == r->data_version)
		return;
	r->data_version = v;
	r->wal_pending = console_db_truncate(r->c->db, 0) != 1;
	if (r->wal_pending)
		log_info("retention: console.db-wal not truncated (busy), "
		         "again at the next sweep");
}

static void
rs_end(struct console_retention *r, int ok)
{
	if (r->removed > 0 || !ok)
		log_info("retention: sweep %s, %lld row(s) removed in %u "
		         "step(s), the longest %.1f ms (%s)",
		    ok ? "done" : "stopped", r->removed, r->steps,
		    r->longest_ms, r->longest != NULL ? r->longest : "-");
	rs_truncate(r);
	r->phase = RS_DONE;
	rs_arm(r, r->c->cfg.retention.sweep_interval);
}

/* One step, then back to the loop: the next step is the next turn's
 * (a zero timeout runs after the loop has looked at the sockets). */
static void
rs_turn(evutil_socket_t fd, short what, void *arg)
{
	struct console_retention *r = arg;
	struct timespec t0;
	int more = 0, rc;
	double ms;

	(void)fd, (void)what;
	if (r->c->db == NULL) { /* not open yet */
		rs_arm(r, 1);
		return;
	}
	if (r->phase == RS_DONE) {
		if (rs_prepare(r) != 0) {
			rs_end(r, 0);
			return;
		}
		r->phase = RS_SETTING;
		r->removed = 0, r->steps = 0, r->longest_ms = 0;
		r->longest = NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = r->phase == RS_VACUUM ? rs_vacuum(r, &more) : rs_step(r, &more);
	ms = rs_ms(&t0);
	r->steps++;
	if (ms > r->longest_ms) {
		r->longest_ms = ms;
		r->longest = rs_what[r->phase];
	}
	if (rc != 0 || (!more && ++r->phase == RS_DONE))
		rs_end(r, rc == 0);
	else
		rs_arm(r, 0);
}

struct console_retention *
console_retention_new(struct console *c, struct event_base *base)
{
	struct console_retention *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->c = c;
	r->phase = RS_DONE;
	if ((r->ev = evtimer_new(base, rs_turn, r)) == NULL) {
		free(r);
		return NULL;
	}
	rs_arm(r, CONSOLE_RETENTION_FIRST);
	return r;
}

/* The content cursor goes forward only; a webhook stored for an alert
 * already closed (a late position or notice) may lie behind it, so the
 * next sweep's content phase starts again from the first closure: its
 * steps over closures done remove nothing and cost an index probe each. */
void
console_retention_rewind(struct console_retention *r)
{
	if (r != NULL)
		r->cursor[0] = 0;
}

void
console_retention_free(struct console_retention *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < RS_NSQL; i++)
		sqlite3_finalize(r->s[i]);
	event_free(r->ev);
	free(r);
}
