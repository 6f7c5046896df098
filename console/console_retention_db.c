/*
 * The tables and triggers that let the console remove what passed its
 * retention period, or what an erasure names, and nothing else
 * (console_retention.h).  A database of before them gets them once
 * (user_version 5, and 6 for the reopening of an alert and the
 * replace triggers).
 *
 * Why triggers and not only careful C: the timeline is the operators'
 * record, which an auditor must be able to trust.  Whatever path a
 * DELETE takes (a bug, a statement bent by an injection), SQLite itself
 * refuses to delete a timeline row or webhook unless
 *  - its alert was closed longer ago than the period retention_setting
 *    holds (written by the sweep at its start; each change of it is
 *    recorded in retention_log by a trigger), or
 *  - its alert is in erasing, whose rows must name an erasure recorded
 *    in retention_log a moment before (console_forget.c), or
 *  - it is a device notice older than the device_state period, or an
 *    operator's login or logout older than the alert_history period.
 * A closure cannot be made up after the fact to open that door: a
 * 'closed' row must carry the time it is written.  retention_log itself
 * is append-only.  Whoever can write the file, or run any SQL they like
 * (DROP TRIGGER), can still do anything: that is the file's permissions
 * and the host's to guard; what goes through the console leaves a
 * record.
 */
#include <stddef.h>

#include "console_db.h"
#include "console_retention.h"
#include "log.h"

/* clang-format off: it breaks the SQL's concatenation mid-word */

/* An alert closed longer ago than period (a column of
 * retention_setting r) before now: the row of alert_id may go. */
#define CONSOLE_RETENTION_CLOSED(period)                                       \
	"EXISTS (SELECT 1 FROM retention_setting r, timeline c WHERE "         \
	"r." period                                                            \
	" > 0 AND c.alert_id = OLD.alert_id AND +c.kind = 'closed'"            \
	" AND c.at <= unixepoch() - r." period                                 \
	" AND c.id > " CONSOLE_DB_REOPENED("OLD.alert_id") ")"

/* A device notice (its alert_id is the notice's own id, no alert's)
 * stored longer ago than the device_state period: an id that carries
 * nothing but notices, in the webhooks and in the timeline (where a
 * notice has only its 'webhook' row), so that a forged notice with a
 * closed alert's id cannot take that alert's timeline early. */
#define CONSOLE_RETENTION_OLD_NOTICE                                           \
	"(EXISTS (SELECT 1 FROM retention_setting r, webhook w WHERE"          \
	" r.device_state > 0 AND w.alert_id = OLD.alert_id AND w.type "        \
	"IN " CONSOLE_RETENTION_NOTICE_TYPES                                   \
	" AND w.stored_at <= unixepoch() -"                                    \
	" r.device_state) AND " CONSOLE_RETENTION_NOTICE_ONLY(                 \
	    "OLD.alert_id") ")"

/* An operator's login or logout (alert_id '*') older than the
 * alert_history period. */
#define CONSOLE_RETENTION_LOGIN                                                \
	"(OLD.alert_id = '*' AND EXISTS (SELECT 1 FROM retention_setting r"    \
	" WHERE r.alert_history > 0 AND OLD.at <= unixepoch() -"               \
	" r.alert_history))"

#define CONSOLE_RETENTION_ERASING                                              \
	"OLD.alert_id IN (SELECT alert_id FROM erasing)"

/* What may go of the timeline, and of the webhooks. */
#define CONSOLE_RETENTION_TIMELINE_MAY_GO                                      \
	"(" CONSOLE_RETENTION_ERASING " OR " CONSOLE_RETENTION_CLOSED(         \
	    "alert_history") " OR " CONSOLE_RETENTION_LOGIN                    \
	                     " OR " CONSOLE_RETENTION_OLD_NOTICE ")"
#define CONSOLE_RETENTION_WEBHOOK_MAY_GO                                                                          \
	"(" CONSOLE_RETENTION_ERASING " OR " CONSOLE_RETENTION_CLOSED(                                            \
	    "alert_content") " OR " CONSOLE_RETENTION_CLOSED("alert_history") " OR " CONSOLE_RETENTION_OLD_NOTICE \
	                                                                      ")"

/* A change of the periods, into retention_log. */
#define CONSOLE_RETENTION_SETTING_LOGGED                                       \
	" retention_setting BEGIN INSERT INTO retention_log (at, by, what,"    \
	" rows, detail) VALUES (unixepoch(), 'alertconsole', 'setting', 0,"    \
	" printf('alert_content=%d alert_history=%d device_state=%d',"         \
	" NEW.alert_content, NEW.alert_history, NEW.device_state)); END;"

static const char console_retention_upgrade_sql[] =
    "BEGIN IMMEDIATE;"
    /* the periods the sweep runs with, one row */
    "CREATE TABLE IF NOT EXISTS retention_setting ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " alert_content INTEGER NOT NULL,"
    " alert_history INTEGER NOT NULL,"
    " device_state INTEGER NOT NULL);"
    /* what went, when, by whom (the sweep, or the name given to
     * forget), how many rows; never whose or what it said */
    "CREATE TABLE IF NOT EXISTS retention_log ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " by TEXT NOT NULL,"
    " what TEXT NOT NULL,"
    " rows INTEGER NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '');"
    /* the alerts of the erasure under way, within its transaction */
    "CREATE TABLE IF NOT EXISTS erasing ("
    " alert_id TEXT PRIMARY KEY,"
    " erasure_id INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS webhook_notice ON webhook(stored_at) WHERE"
    " type IN " CONSOLE_RETENTION_NOTICE_TYPES ";"
    "CREATE TRIGGER IF NOT EXISTS retention_log_no_update BEFORE UPDATE ON"
    " retention_log BEGIN SELECT RAISE(ABORT, 'retention_log is"
    " append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS retention_log_no_delete BEFORE DELETE ON"
    " retention_log BEGIN SELECT RAISE(ABORT, 'retention_log is"
    " append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS retention_setting_kept BEFORE DELETE ON"
    " retention_setting BEGIN SELECT RAISE(ABORT, 'retention_setting is"
    " kept'); END;"
    "CREATE TRIGGER IF NOT EXISTS retention_setting_new AFTER INSERT "
    "ON" CONSOLE_RETENTION_SETTING_LOGGED
    "CREATE TRIGGER IF NOT EXISTS retention_setting_changed AFTER UPDATE "
    "ON" CONSOLE_RETENTION_SETTING_LOGGED
    "CREATE TRIGGER IF NOT EXISTS erasing_recorded BEFORE INSERT ON erasing"
    " WHEN NOT EXISTS (SELECT 1 FROM retention_log WHERE id ="
    " NEW.erasure_id AND what = 'erasure' AND at >= unixepoch() - 60)"
    " BEGIN SELECT RAISE(ABORT, 'an erasure must be recorded first'); END;"
    "CREATE TRIGGER IF NOT EXISTS timeline_closed_now BEFORE INSERT ON"
    " timeline WHEN NEW.kind = 'closed' AND abs(NEW.at - unixepoch()) > 300"
    " BEGIN SELECT RAISE(ABORT, 'a closure is dated now'); END;"
    "PRAGMA user_version = 5;"
    "COMMIT;";

/* A row of an append-only table that an INSERT OR REPLACE (or REPLACE
 * INTO) with its id would remove: SQLite fires no delete trigger for
 * that (recursive_triggers is off), so the insert itself is refused. */
#define CONSOLE_RETENTION_NO_REPLACE(table, why)                               \
	"CREATE TRIGGER IF NOT EXISTS " table                                  \
	"_no_replace BEFORE INSERT ON " table                                  \
	" WHEN EXISTS (SELECT 1 FROM " table " WHERE id = NEW.id)"             \
	" BEGIN SELECT RAISE(ABORT, '" why "'); END;"

/* The delete triggers (again at user_version 6: a closure before the
 * alert's reopening no longer counts), and the replace triggers. */
/* clang-format off */
static const char console_retention_upgrade6_sql[] =
    "DROP INDEX IF EXISTS webhook_notice;"
    "CREATE INDEX webhook_notice ON webhook(stored_at) WHERE"
    " type IN " CONSOLE_RETENTION_NOTICE_TYPES ";"
    "DROP TRIGGER IF EXISTS timeline_no_delete;"
    "CREATE TRIGGER timeline_no_delete BEFORE DELETE ON timeline WHEN "
    "NOT " CONSOLE_RETENTION_TIMELINE_MAY_GO
    " BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;"
    "DROP TRIGGER IF EXISTS webhook_no_delete;"
    "CREATE TRIGGER webhook_no_delete BEFORE DELETE ON webhook"
    " WHEN NOT " CONSOLE_RETENTION_WEBHOOK_MAY_GO
    " BEGIN SELECT RAISE(ABORT, 'webhooks are kept'); END;"
    CONSOLE_RETENTION_NO_REPLACE("timeline", "timeline is append-only")
    CONSOLE_RETENTION_NO_REPLACE("webhook", "webhooks are kept")
    CONSOLE_RETENTION_NO_REPLACE("retention_log",
        "retention_log is append-only")
    "PRAGMA user_version = 6;";
/* clang-format on */

/* One upgrade's SQL; on an error the transaction is rolled back. */
int
console_retention_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("database: upgrade: %s", err != NULL ? err : "error");
		sqlite3_free(err);
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
console_retention_upgrade(sqlite3 *db)
{
	return console_retention_exec(db, console_retention_upgrade_sql);
}

int
console_retention_upgrade6(sqlite3 *db)
{
	return console_retention_exec(db, console_retention_upgrade6_sql);
}
