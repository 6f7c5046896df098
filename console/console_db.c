/*
 * The console's SQLite store (see console_db.h for why it is
 * synchronous).  One table, append-only: a webhook row is never changed
 * (but for one flag once, console_db_upgrade_positions).
 * The statements of the per-request queries are prepared once and kept
 * (console_db_stmt).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "console_db.h"
#include "console_db_upgrade.h"
#include "console_db_view.h"
#include "console_retention.h"
#include "log.h"
#include "seen.h"
#include "shown.h"
#include "xmalloc.h"

/* The statements of the per-request queries, each prepared once on
 * this handle (console_db_stmt): a page load or a webhook no longer
 * compiles the same SQL again and again. */
#define CONSOLE_DB_STMTS 64

struct console_db_cached {
	const char *sql; /* the caller's text, static */
	sqlite3_stmt *s;
};

struct console_db {
	sqlite3 *db;
	sqlite3_stmt *insert;
	struct console_db_cached cache[CONSOLE_DB_STMTS];
	size_t ncache;
	unsigned long long uses; /* of the kept statements, for the log */
};

/* A webhook row stays as it came (but see console_db_upgrade_positions,
 * which drops this trigger and makes it again around its one change). */
#define CONSOLE_DB_WEBHOOK_KEPT                                                \
	"CREATE TRIGGER IF NOT EXISTS webhook_no_update BEFORE UPDATE ON "     \
	" webhook BEGIN SELECT RAISE(ABORT, 'webhooks are kept'); END"

/* Each alert not closed, by its first row that brings it. */
#define CONSOLE_DB_OPEN_ALERTS                                                 \
	"INSERT OR IGNORE INTO open_alert (alert_id, first_id)"                \
	" SELECT alert_id, MIN(id) FROM webhook WHERE is_alert = 1 AND"        \
	" alert_id NOT IN (SELECT alert_id FROM timeline WHERE kind ="         \
	" 'closed') GROUP BY alert_id"

/* Per connection, so on every open (the console's and forget's):
 * notes and closure remarks are plain text, and what retention or
 * `forget` deletes is zeroed in the pages written (secure_delete), and
 * the WAL file is cut back to nothing whenever it restarts
 * (journal_size_limit 0), so that it does not keep old frames of them
 * beyond its live part; the truncating checkpoint (console_db_truncate)
 * removes that part too. */
#define CONSOLE_DB_ERASE_PRAGMAS                                               \
	"PRAGMA secure_delete=ON;"                                             \
	"PRAGMA journal_size_limit=0;"

static const char console_db_schema[] = CONSOLE_DB_ERASE_PRAGMAS
    /* a new file gives freed pages back (console_retention.c); an
     * existing one keeps its mode, this does nothing there */
    "PRAGMA auto_vacuum=INCREMENTAL;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS webhook ("
    " id INTEGER PRIMARY KEY,"
    " stored_at INTEGER NOT NULL,"
    " webhook_id TEXT NOT NULL,"
    " recipient_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " alert_id TEXT NOT NULL,"
    " shown_key TEXT NOT NULL,"
    /* 1 for an event that brings the alert itself (raised, escalated,
     * duress: hook_is_first_event), so it may open and date it; not for
     * a later position (alert.location), which only moves it. */
    " is_alert INTEGER NOT NULL,"
    " repeat INTEGER NOT NULL,"
    " stale INTEGER NOT NULL,"
    " body BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS webhook_alert ON webhook(alert_id);"
    /* An export of a period (console_work_period). */
    "CREATE INDEX IF NOT EXISTS webhook_stored ON webhook(stored_at) "
    " WHERE is_alert = 1;"
    /* The operators (console_users.c) and their sessions, by the hash
     * of the session id: the database never holds a usable cookie. */
    "CREATE TABLE IF NOT EXISTS operator ("
    " name TEXT PRIMARY KEY,"
    " hash TEXT NOT NULL,"
    " role TEXT NOT NULL,"
    " lang TEXT NOT NULL DEFAULT '',"
    " failed INTEGER NOT NULL DEFAULT 0,"
    " locked_until INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL);"
    /* Wrong passwords shown with a device cookie, by the hash of its id
     * (console_device.c): they lock that cookie, not the account. */
    "CREATE TABLE IF NOT EXISTS device_fail ("
    " id_hash TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " failed INTEGER NOT NULL,"
    " locked_until INTEGER NOT NULL,"
    " issued INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS session ("
    " id_hash TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " csrf TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " seen_at INTEGER NOT NULL);"
    /* Who holds an alert now (console_work.c): one row per alert, so
     * the first INSERT wins and a second fails on the key. */
    "CREATE TABLE IF NOT EXISTS claim ("
    " alert_id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " at INTEGER NOT NULL);"
    /* What people did, append-only: a correction is a new row. */
    "CREATE TABLE IF NOT EXISTS timeline ("
    " id INTEGER PRIMARY KEY,"
    " alert_id TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS timeline_alert ON timeline(alert_id);"
    /* The newest closures, for the queue's tail of closed alerts.  A
     * lookup of one alert's closure writes +kind, so that it goes
     * through timeline_alert and not through every closure there is. */
    "CREATE INDEX IF NOT EXISTS timeline_closed ON timeline(kind) WHERE "
    " kind = 'closed';"
    /* The alerts not closed yet, by their first delivery: the queue
     * reads these and not the whole history (a row in at the first
     * delivery, out with the closure's row: console_db_upgrade_triggers).
     */
    "CREATE TABLE IF NOT EXISTS open_alert ("
    " alert_id TEXT PRIMARY KEY,"
    " first_id INTEGER NOT NULL);"
    /* The queue's bound keeps the longest-waiting open alerts and
     * every open duress alarm (console_db_queue_sql): both read from
     * an index, not from the whole table or history. */
    "CREATE INDEX IF NOT EXISTS open_alert_first ON open_alert(first_id);"
    "CREATE INDEX IF NOT EXISTS webhook_duress ON webhook(alert_id) WHERE "
    " type = 'alert.duress';"
    /* Each supervised device's state now (console_offline.c): one row
     * per device, from its newest device.offline or device.online
     * notice by the relay's created_at (not by arrival: a retried
     * device.offline may come after the device.online that ended it),
     * moved by the notice's row (console_db_upgrade_triggers). */
    "CREATE TABLE IF NOT EXISTS device_state ("
    " device_id TEXT PRIMARY KEY,"
    " recipient_id TEXT NOT NULL,"
    " offline INTEGER NOT NULL,"
    " last_seen TEXT NOT NULL,"
    " since TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS device_state_offline ON device_state("
    " offline, since);"
    "CREATE TRIGGER IF NOT EXISTS timeline_no_update BEFORE UPDATE ON "
    " timeline BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS timeline_no_delete BEFORE DELETE ON "
    " timeline BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;"
    /* and a stored webhook is never changed */
    CONSOLE_DB_WEBHOOK_KEPT ";";

/* A database of before open_alert: its open alerts, once (user_version
 * 1 says done). */
static const char console_db_upgrade[] =
    "BEGIN IMMEDIATE;" CONSOLE_DB_OPEN_ALERTS ";"
    "PRAGMA user_version = 1;"
    "COMMIT;";

/* A database of before device_state: each device's state from every
 * notice stored, once (user_version 2 says done); the index on the
 * notices' device that the offline list read until then goes. */
static const char console_db_upgrade_devices[] =
    "BEGIN IMMEDIATE;"
    "DROP INDEX IF EXISTS webhook_device_notice;"
    "DELETE FROM device_state;" CONSOLE_DB_DEVICE_HEAD
    "1" CONSOLE_DB_DEVICE_TAIL ";"
    "PRAGMA user_version = 2;"
    "COMMIT;";

/* The tables the queue and the offline list read, kept by SQLite itself
 * in the transaction of the row that moves them, in one place: an
 * alert's first delivery opens it (unless it was closed before: a late
 * retry), its closure's timeline row closes it, and a device notice
 * moves its device's row.  A database of before (user_version 2, when
 * the C code did this in three places) gets them once. */
static const char console_db_upgrade_triggers[] =
    "BEGIN IMMEDIATE;"
    "CREATE TRIGGER IF NOT EXISTS webhook_opens_alert AFTER INSERT ON"
    " webhook WHEN NEW.is_alert = 1 BEGIN"
    " INSERT OR IGNORE INTO open_alert (alert_id, first_id)"
    " SELECT NEW.alert_id, NEW.id WHERE NOT EXISTS (SELECT 1 FROM timeline"
    " WHERE alert_id = NEW.alert_id AND +kind = 'closed'); END;"
    "CREATE TRIGGER IF NOT EXISTS timeline_closes_alert AFTER INSERT ON"
    " timeline WHEN NEW.kind = 'closed' BEGIN"
    " DELETE FROM open_alert WHERE alert_id = NEW.alert_id; END;"
    "CREATE TRIGGER IF NOT EXISTS webhook_moves_device AFTER INSERT ON"
    " webhook WHEN NEW.type IN ('device.offline', 'device.online') "
    "BEGIN " CONSOLE_DB_DEVICE_HEAD "id = NEW.id" CONSOLE_DB_DEVICE_TAIL
    "; END;"
    "PRAGMA user_version = 3;"
    "COMMIT;";

/* A database of before user_version 4 stored a later position
 * (alert.location) with is_alert = 1: one sent alone, its alert.raised
 * held back, opened the alert as raised at the fix's time and place,
 * and stayed its first row.  Its flag is set right, once (the only
 * change ever made to a webhook row: the row's own content, its body,
 * stays as it came), and the open alerts are taken again from the rows
 * that bring an alert; an alert known only by positions leaves the
 * queue until its alert comes. */
static const char console_db_upgrade_positions[] =
    "BEGIN IMMEDIATE;"
    "DROP TRIGGER IF EXISTS webhook_no_update;"
    "UPDATE webhook SET is_alert = 0 WHERE type = 'alert.location' AND"
    " is_alert = 1;" CONSOLE_DB_WEBHOOK_KEPT ";"
    "DELETE FROM open_alert;" CONSOLE_DB_OPEN_ALERTS ";"
    "PRAGMA user_version = 4;"
    "COMMIT;";

static const char console_db_insert_sql[] =
    "INSERT INTO webhook (stored_at, webhook_id, recipient_id, type, "
    "alert_id, shown_key, is_alert, repeat, stale, body) "
    "VALUES (?,?,?,?,?,?,?,?,?,?)";

static int
console_db_exec(struct console_db *d, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(d->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("database: %s", err != NULL ? err : "error");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
console_db_upgrade_once(struct console_db *d)
{
	sqlite3_stmt *s;
	int version = -1;

	if (sqlite3_prepare_v2(d->db, "PRAGMA user_version", -1, &s, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			version = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	if (version < 0)
		return -1;
	if (version < 1 && console_db_exec(d, console_db_upgrade) != 0)
		return -1;
	if (version < 2 && console_db_exec(d, console_db_upgrade_devices) != 0)
		return -1;
	if (version < 3 && console_db_exec(d, console_db_upgrade_triggers) != 0)
		return -1;
	if (version < 4 &&
	    console_db_exec(d, console_db_upgrade_positions) != 0)
		return -1;
	if (version < 5 && console_retention_upgrade(d->db) != 0)
		return -1;
	if (version < 6 && console_db_upgrade6(d->db) != 0)
		return -1;
	if (version < 7 && console_db_upgrade7(d->db) != 0)
		return -1;
	return 0;
}

struct console_db *
console_db_open(const char *dir)
{
	struct console_db *d = xcalloc(1, sizeof(*d));
	char *path;
	int rc;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_warn("state_dir %s", dir);
		free(d);
		return NULL;
	}
	path = xasprintf("%s/%s", dir, CONSOLE_DB_FILE);
	rc = sqlite3_open_v2(path, &d->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		log_warnx("database %s: %s", path, sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(d->db, CONSOLE_DB_BUSY_MS);
	if (console_db_exec(d, console_db_schema) != 0 ||
	    console_db_upgrade_once(d) != 0)
		goto fail;
	if (sqlite3_prepare_v2(d->db, console_db_insert_sql, -1, &d->insert,
	        NULL) != SQLITE_OK) {
		log_warnx("database: %s", sqlite3_errmsg(d->db));
		goto fail;
	}
	log_info("database %s open", path);
	free(path);
	return d;
fail:
	free(path);
	console_db_close(d);
	return NULL;
}

int
console_db_truncate(struct console_db *d, int wait_ms)
{
	int rc;

	sqlite3_busy_timeout(d->db, wait_ms);
	rc = sqlite3_wal_checkpoint_v2(d->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	sqlite3_busy_timeout(d->db, CONSOLE_DB_BUSY_MS);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return 0;
	if (rc != SQLITE_OK) {
		log_warnx("database: checkpoint: %s", sqlite3_errmsg(d->db));
		return -1;
	}
	return 1;
}

sqlite3 *
console_db_sqlite(struct console_db *d)
{
	return d->db;
}

sqlite3_stmt *
console_db_stmt(struct console_db *d, const char *sql)
{
	struct console_db_cached *e;
	size_t i;

	for (i = 0; i < d->ncache; i++) {
		e = &d->cache[i];
		if (e->sql != sql && strcmp(e->sql, sql) != 0)
			continue;
		/* still stepping in a caller further up: resetting it
		 * would end that caller's rows (never done; refused) */
		if (sqlite3_stmt_busy(e->s)) {
			log_warnx("database: a statement asked for while in "
			          "use");
			return NULL;
		}
		console_db_release(e->s);
		d->uses++;
		return e->s;
	}
	if (d->ncache == CONSOLE_DB_STMTS) {
		log_warnx("database: more than %d statements to keep",
		    CONSOLE_DB_STMTS);
		return NULL;
	}
	e = &d->cache[d->ncache];
	if (sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->s,
	        NULL) != SQLITE_OK) {
		log_warnx("database: %s", sqlite3_errmsg(d->db));
		sqlite3_finalize(e->s);
		e->s = NULL;
		return NULL;
	}
	e->sql = sql;
	d->ncache++;
	d->uses++;
	return e->s;
}

void
console_db_release(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

void
console_db_close(struct console_db *d)
{
	size_t i;

	if (d == NULL)
		return;
	if (d->ncache > 0)
		log_info("database closed: statements=%zu prepared once, "
		         "used %llu times",
		    d->ncache, d->uses);
	for (i = 0; i < d->ncache; i++)
		sqlite3_finalize(d->cache[i].s);
	sqlite3_finalize(d->insert);
	sqlite3_close(d->db);
	free(d);
}

/* The webhook row and its timeline row (console_work.c) in one
 * transaction: when COMMIT returns it is on disk (synchronous=FULL). */
static int
console_db_timeline(struct console_db *d, const struct hook_body *b)
{
	sqlite3_stmt *s;
	char id[24];
	int rc;

	if ((s = console_db_stmt(d,
	         "INSERT INTO timeline (alert_id, at, kind, actor, detail) "
	         "VALUES (?, ?, 'webhook', 'relay', ?)")) == NULL)
		return -1;
	snprintf(id, sizeof(id), "%lld",
	    (long long)sqlite3_last_insert_rowid(d->db));
	sqlite3_bind_text(s, 1, b->alert_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(s, 3, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	console_db_release(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
console_db_store(struct console_db *d, const struct hook_request *req,
    const struct hook_body *b, const struct hook_verdict *v)
{
	char key[SHOWN_KEY_MAX + 1];
	sqlite3_stmt *s = d->insert;
	int rc;

	if (console_db_exec(d, "BEGIN IMMEDIATE") != 0)
		return -1;
	hook_key(b, key);
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(s, 2, req->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, b->recipient_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, b->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, b->alert_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 7, hook_is_first_event(b->type));
	sqlite3_bind_int(s, 8, v->repeat);
	sqlite3_bind_int(s, 9, v->old);
	sqlite3_bind_blob(s, 10, req->body, (int)req->bodylen, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	/* the triggers open the alert or move the device (see above) */
	if (rc != SQLITE_DONE || console_db_timeline(d, b) != 0 ||
	    console_db_exec(d, "COMMIT") != 0) {
		log_warnx("database: storing webhook %s: %s", req->id,
		    sqlite3_errmsg(d->db));
		(void)console_db_exec(d, "ROLLBACK");
		return -1;
	}
	return 0;
}

int
console_db_replay(struct console_db *d, struct seen *seen, struct shown *shown)
{
	sqlite3_stmt *s;
	size_t n = 0;
	int rc;

	if (sqlite3_prepare_v2(d->db,
	        "SELECT webhook_id, shown_key FROM webhook ORDER BY id", -1, &s,
	        NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		seen_add(seen, (const char *)sqlite3_column_text(s, 0));
		(void)shown_add(shown, (const char *)sqlite3_column_text(s, 1));
		n++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	log_info("database: %zu webhook(s) remembered", n);
	return 0;
}

/* The queue: the open alerts, and the newest closed ones (?2) for
 * context; older ones are in the caller history and the export.
 * Every page load opens (decrypts) each alert listed, on the event
 * loop, so the list is bounded (?1) for the loop's sake and the page's:
 * in a flood its cost follows the bound, not the flood.  At the bound
 * what needs an operator stays first: every open duress alarm, which
 * the queue puts first whatever its age (few: webhook_duress); then the
 * alerts waiting for a person (CONSOLE_DB_WAITING), the longest waiting
 * first, so that a new panic is never pushed out by old alerts someone
 * already holds (the page rings only for those it lists); then the
 * other open ones (claimed, cancelled by their device, drills and
 * tests alike), the oldest first; recently closed ones only fill what
 * room is left.  Both kinds of open alert are read in the order of
 * open_alert_first and stop at the bound: the waiting ones test each
 * open alert on its way through one alert's indexes, as the metrics'
 * gauge does.  How many open alerts the bound leaves out is counted
 * apart (console_db_open_count), and the page says so. */
/* clang-format breaks the SQL's concatenation mid-word: */
/* clang-format off */
#define CONSOLE_DB_QUEUE_OPEN                                                  \
	"EXISTS (SELECT 1 FROM open_alert o WHERE o.alert_id = w.alert_id)"
#define CONSOLE_DB_QUEUE_WAITING                                               \
	"EXISTS (SELECT 1 FROM open_alert o WHERE o.alert_id = w.alert_id"     \
	" AND " CONSOLE_DB_WAITING("o") ")"
static const char console_db_queue_sql[] = CONSOLE_DB_ALERT_COLUMNS
    ", " CONSOLE_DB_QUEUE_OPEN " AS is_open, " CONSOLE_DB_QUEUE_WAITING
    " AS is_waiting FROM webhook w WHERE w.id IN"
    " (SELECT first_id FROM (SELECT first_id FROM open_alert o"
    "  WHERE " CONSOLE_DB_WAITING("o") " ORDER BY first_id LIMIT ?1)"
    " UNION SELECT first_id FROM (SELECT first_id FROM open_alert"
    "  ORDER BY first_id LIMIT ?1)"
    " UNION SELECT o.first_id FROM webhook n JOIN open_alert o"
    "  ON o.alert_id = n.alert_id WHERE n.type = 'alert.duress'"
    "  AND n.recipient_id = " CONSOLE_DB_FIRST_RCPT("o")
    " UNION SELECT (SELECT MIN(f.id) FROM webhook f WHERE"
    "  f.alert_id = t.alert_id AND f.is_alert = 1)"
    " FROM (SELECT alert_id FROM timeline WHERE kind = 'closed'"
    "  ORDER BY id DESC LIMIT ?2) t)"
    " ORDER BY is_open DESC, is_open AND EXISTS (SELECT 1 FROM webhook n"
    "  WHERE n.alert_id = w.alert_id AND n.type = 'alert.duress'"
    "  AND n.recipient_id = w.recipient_id) DESC,"
    " is_waiting DESC, CASE WHEN is_open THEN w.id ELSE -w.id END"
    " LIMIT ?1";
/* clang-format on */

/* One alert, through the webhook_alert index. */
static const char console_db_one_sql[] =
    CONSOLE_DB_ALERT_COLUMNS " FROM webhook w WHERE w.id = (SELECT MIN(id) "
                             "FROM webhook WHERE alert_id = ?1"
                             " AND is_alert = 1)";

void
console_db_alert_row(sqlite3_stmt *s, struct console_db_alert *a)
{
	memset(a, 0, sizeof(*a));
	a->recipient_id = (char *)sqlite3_column_text(s, 0);
	a->body = (char *)sqlite3_column_blob(s, 1);
	a->bodylen = (size_t)sqlite3_column_bytes(s, 1);
	a->stored_at = sqlite3_column_int64(s, 2);
	a->stale = sqlite3_column_int(s, 3);
	a->acknowledged = sqlite3_column_int(s, 4);
	a->cancelled = sqlite3_column_int(s, 5);
	a->duress = sqlite3_column_int(s, 6);
}

int
console_db_alerts(struct console_db *d, const char *alert_id,
    void (*fn)(void *arg, const struct console_db_alert *a), void *arg)
{
	struct console_db_alert a;
	sqlite3_stmt *s;
	int rc;

	if ((s = console_db_stmt(d,
	         alert_id != NULL ? console_db_one_sql
	                          : console_db_queue_sql)) == NULL)
		return -1;
	if (alert_id != NULL)
		sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	else {
		sqlite3_bind_int(s, 1, CONSOLE_DB_LIST_MAX);
		sqlite3_bind_int(s, 2, CONSOLE_DB_CLOSED_SHOWN);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		console_db_alert_row(s, &a);
		a.open = alert_id == NULL && sqlite3_column_int(s, 7);
		a.waiting = alert_id == NULL && sqlite3_column_int(s, 8);
		fn(arg, &a);
	}
	console_db_release(s);
	if (rc != SQLITE_DONE) {
		log_warnx("database: %s", sqlite3_errmsg(d->db));
		return -1;
	}
	return 0;
}

/* A count of the small table of open alerts (an alert id and a row id
 * each), without opening any: what the queue's bound leaves out is
 * this less the open ones it listed. */
long long
console_db_open_count(struct console_db *d)
{
	sqlite3_stmt *s = console_db_stmt(d, "SELECT COUNT(*) FROM open_alert");
	long long n = -1;

	if (s == NULL)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	else
		log_warnx("database: %s", sqlite3_errmsg(d->db));
	console_db_release(s);
	return n;
}
