/*
 * The console's database from user_version 5 to 6, once, in one
 * transaction (console_db_upgrade.h): the triggers that let a duress
 * alarm reopen a closed alert, the table of each alert's device, the
 * time each device was last heard of (so that the sweep reads
 * device_state by an index, not every notice), and the retention
 * triggers of console_retention_upgrade6; and from 6 to 7, the
 * reopening only by the alert's own recipient's duress alarm.
 */
#include <sqlite3.h>

#include "console_db.h"
#include "console_db_upgrade.h"
#include "console_db_view.h"
#include "console_retention.h"
#include "log.h"

/* clang-format breaks the SQL's concatenation mid-word: */
/* clang-format off */

/* A duress cancel of an alert already closed (the relay reopens it and
 * sends alert.duress to every tier, alertconsole(8)) reopens it here
 * too: a 'reopened' row in its timeline, after which its closure and
 * acknowledgement no longer count (CONSOLE_DB_REOPENED), its claim
 * dropped so that it waits for a person again, and back in open_alert
 * by its first row, so that it is listed first and rings.  Its first
 * delivery opens an alert only when it is not closed now.  Once
 * (user_version 6, with console_retention_upgrade6). */
#define CONSOLE_DB_CLOSED_NOW                                                  \
	"EXISTS (SELECT 1 FROM timeline WHERE alert_id = NEW.alert_id AND"     \
	" +kind = 'closed' AND id > " CONSOLE_DB_REOPENED("NEW.alert_id") ")"
static const char console_db_upgrade_reopen[] =
    "DROP TRIGGER IF EXISTS webhook_opens_alert;"
    "CREATE TRIGGER webhook_opens_alert AFTER INSERT ON webhook WHEN"
    " NEW.is_alert = 1 AND NOT " CONSOLE_DB_CLOSED_NOW " BEGIN"
    " INSERT OR IGNORE INTO open_alert (alert_id, first_id)"
    " VALUES (NEW.alert_id, NEW.id); END;"
    "CREATE TRIGGER IF NOT EXISTS webhook_duress_reopens AFTER INSERT ON"
    " webhook WHEN NEW.type = 'alert.duress' AND " CONSOLE_DB_CLOSED_NOW
    " BEGIN INSERT INTO timeline (alert_id, at, kind, actor) VALUES"
    " (NEW.alert_id, unixepoch(), 'reopened', 'relay');"
    " DELETE FROM claim WHERE alert_id = NEW.alert_id;"
    " INSERT OR IGNORE INTO open_alert (alert_id, first_id) SELECT"
    " NEW.alert_id, MIN(id) FROM webhook WHERE alert_id = NEW.alert_id"
    " AND is_alert = 1; END;";

/* Which device each alert is of, from its first row that brings it,
 * kept until its alert_history period ends (console_retention.c): the
 * webhooks that name the device go after alert_content, and an
 * erasure (console_forget.c) must still find the alert's timeline and
 * claim.  The alerts stored before it get theirs from their rows still
 * there.  Once (user_version 6). */
static const char console_db_upgrade_alert_device[] =
    "CREATE TABLE IF NOT EXISTS alert_device ("
    " alert_id TEXT PRIMARY KEY,"
    " device_id TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alert_device_device ON alert_device("
    " device_id);"
    "CREATE TRIGGER IF NOT EXISTS webhook_names_device AFTER INSERT ON"
    " webhook WHEN NEW.is_alert = 1 BEGIN"
    " INSERT OR IGNORE INTO alert_device (alert_id, device_id) SELECT"
    " NEW.alert_id, dev FROM (SELECT json_extract(CAST(NEW.body AS TEXT),"
    " '$.device_id') AS dev) WHERE dev IS NOT NULL; END;"
    "INSERT OR IGNORE INTO alert_device (alert_id, device_id) SELECT"
    " alert_id, " CONSOLE_DB_DEVICE " FROM webhook WHERE is_alert = 1 AND"
    " " CONSOLE_DB_DEVICE " IS NOT NULL ORDER BY id;";

/* When the console last heard of each device (a device.offline or
 * device.online notice stored, whatever its created_at): the
 * device_state period counts from it (console_retention.c); the
 * notice's trigger moves it with the rest of the row. */
#define CONSOLE_DB_HEARD                                                       \
	" UPDATE device_state SET heard_at = NEW.stored_at WHERE device_id ="  \
	" json_extract(CAST(NEW.body AS TEXT), '$.device_id');"
static const char console_db_add_heard[] =
    "ALTER TABLE device_state ADD COLUMN heard_at INTEGER NOT NULL"
    " DEFAULT 0";
static const char console_db_upgrade_heard[] =
    "UPDATE device_state SET heard_at = m.at FROM (SELECT dev, MAX(stored_at)"
    " AS at FROM (SELECT " CONSOLE_DB_DEVICE " AS dev, stored_at FROM"
    " webhook WHERE type IN ('device.offline', 'device.online')) GROUP BY"
    " dev) m WHERE m.dev = device_state.device_id;"
    "CREATE INDEX IF NOT EXISTS device_state_heard ON device_state("
    " heard_at);"
    "DROP TRIGGER IF EXISTS webhook_moves_device;"
    "CREATE TRIGGER webhook_moves_device AFTER INSERT ON"
    " webhook WHEN NEW.type IN ('device.offline', 'device.online') "
    "BEGIN " CONSOLE_DB_DEVICE_HEAD "id = NEW.id" CONSOLE_DB_DEVICE_TAIL
    ";" CONSOLE_DB_HEARD " END;";

/* A duress alarm reopens a closed alert only when it came through the
 * hook of the alert's own recipient (the recipient of its first row):
 * another recipient's webhook secret vouches for nothing about it.
 * Once (user_version 7). */
static const char console_db_upgrade7_sql[] =
    "BEGIN IMMEDIATE;"
    "DROP TRIGGER IF EXISTS webhook_duress_reopens;"
    "CREATE TRIGGER webhook_duress_reopens AFTER INSERT ON"
    " webhook WHEN NEW.type = 'alert.duress' AND NEW.recipient_id = "
    CONSOLE_DB_ALERT_RCPT("NEW.alert_id") " AND " CONSOLE_DB_CLOSED_NOW
    " BEGIN INSERT INTO timeline (alert_id, at, kind, actor) VALUES"
    " (NEW.alert_id, unixepoch(), 'reopened', 'relay');"
    " DELETE FROM claim WHERE alert_id = NEW.alert_id;"
    " INSERT OR IGNORE INTO open_alert (alert_id, first_id) SELECT"
    " NEW.alert_id, MIN(id) FROM webhook WHERE alert_id = NEW.alert_id"
    " AND is_alert = 1; END;"
    "PRAGMA user_version = 7;"
    "COMMIT;";

/* clang-format on */

/* Whether device_state has heard_at already (a database its user_version
 * was set back on, as the tests of the older upgrades do): SQLite has
 * no ADD COLUMN IF NOT EXISTS. */
static int
console_db_has_heard(sqlite3 *db)
{
	sqlite3_stmt *s;
	int has = 0;

	if (sqlite3_prepare_v2(db,
	        "SELECT 1 FROM pragma_table_info('device_state') WHERE name ="
	        " 'heard_at'",
	        -1, &s, NULL) != SQLITE_OK)
		return 0;
	has = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return has;
}

int
console_db_upgrade6(sqlite3 *db)
{
	if (console_retention_exec(db, "BEGIN IMMEDIATE") != 0)
		return -1;
	if (console_retention_exec(db, console_db_upgrade_reopen) != 0 ||
	    console_retention_exec(db, console_db_upgrade_alert_device) != 0 ||
	    (!console_db_has_heard(db) &&
	        console_retention_exec(db, console_db_add_heard) != 0) ||
	    console_retention_exec(db, console_db_upgrade_heard) != 0 ||
	    console_retention_upgrade6(db) != 0 ||
	    console_retention_exec(db, "COMMIT") != 0)
		return -1;
	return 0;
}

int
console_db_upgrade7(sqlite3 *db)
{
	/* rolled back on an error */
	return console_retention_exec(db, console_db_upgrade7_sql);
}
