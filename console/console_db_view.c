/*
 * The caller history's and the positions' queries (console_db_view.h).
 * The device is read from the stored body (its device_id was checked
 * against the signed alert when it came in) through an index on that
 * expression, so no column is added to the webhook table.
 */
#include <stdint.h>
#include <string.h>

#include "console_db_view.h"
#include "log.h"

static const char console_db_view_schema[] =
    "CREATE INDEX IF NOT EXISTS webhook_device ON webhook(" CONSOLE_DB_DEVICE
    ", id) WHERE is_alert = 1;";

static const char console_db_device_sql[] = CONSOLE_DB_ALERT_COLUMNS
    ", w.id FROM webhook w WHERE w.id IN"
    " (SELECT MIN(id) FROM webhook WHERE is_alert = 1"
    "  AND " CONSOLE_DB_DEVICE " = ?1 GROUP BY alert_id)"
    " AND w.id < ?2 ORDER BY w.id DESC LIMIT ?3";

static const char console_db_updates_sql[] =
    "SELECT body FROM webhook WHERE alert_id = ?1 AND recipient_id = ?2"
    " AND type = 'alert.location' ORDER BY id DESC LIMIT ?3";

/* Each prepared once on the handle (console_db_stmt). */
static int
console_db_view_prepare(struct console_db *d, const char *sql, sqlite3_stmt **s)
{
	return (*s = console_db_stmt(d, sql)) != NULL ? 0 : -1;
}

static int
console_db_view_done(sqlite3 *db, sqlite3_stmt *s, int rc)
{
	console_db_release(s);
	if (rc != SQLITE_DONE) {
		log_warnx("database: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

int
console_db_view_init(struct console_db *d)
{
	char *err = NULL;

	if (sqlite3_exec(console_db_sqlite(d), console_db_view_schema, NULL,
	        NULL, &err) != SQLITE_OK) {
		log_warnx("database: %s", err != NULL ? err : "error");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int
console_db_device_alerts(struct console_db *d, const char *device_id,
    long long before, int limit,
    void (*fn)(void *arg, const struct console_db_alert *a, long long id),
    void *arg)
{
	sqlite3 *db = console_db_sqlite(d);
	struct console_db_alert a;
	sqlite3_stmt *s;
	int rc;

	if (console_db_view_prepare(d, console_db_device_sql, &s) != 0)
		return -1;
	sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, before > 0 ? before : INT64_MAX);
	sqlite3_bind_int(s, 3, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		console_db_alert_row(s, &a);
		fn(arg, &a, sqlite3_column_int64(s, 7));
	}
	return console_db_view_done(db, s, rc);
}

int
console_db_updates(struct console_db *d, const char *alert_id,
    const char *recipient_id,
    void (*fn)(void *arg, const char *body, size_t len), void *arg)
{
	sqlite3 *db = console_db_sqlite(d);
	sqlite3_stmt *s;
	int rc;

	if (console_db_view_prepare(d, console_db_updates_sql, &s) != 0)
		return -1;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, recipient_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, CONSOLE_DB_UPDATES_MAX);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_blob(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0));
	return console_db_view_done(db, s, rc);
}
