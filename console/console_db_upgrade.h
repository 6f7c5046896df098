/*
 * What the console's database upgrades share (console_db.c, up to
 * user_version 5; console_db_upgrade6.c, 6 and 7): how a device notice
 * moves its device's row, and the upgrades to 6 and 7.
 */
#ifndef ALERTCONSOLE_CONSOLE_DB_UPGRADE_H
#define ALERTCONSOLE_CONSOLE_DB_UPGRADE_H

#include <sqlite3.h>

/* The device notices of webhook rows (those of the condition between
 * the two halves) into device_state, in the order they came: a notice
 * replaces the device's row unless that row's created_at is newer.  The
 * same statement for one new notice and for the whole history, so an
 * upgraded database holds what the notices one by one would have left. */
#define CONSOLE_DB_DEVICE_HEAD                                                 \
	"INSERT INTO device_state (device_id, recipient_id, offline,"          \
	" last_seen, since) SELECT dev, recipient_id,"                         \
	" type = 'device.offline', COALESCE(seen, ''), COALESCE(at, '')"       \
	" FROM (SELECT id, recipient_id, type,"                                \
	" json_extract(CAST(body AS TEXT), '$.device_id') AS dev,"             \
	" json_extract(CAST(body AS TEXT), '$.last_seen') AS seen,"            \
	" json_extract(CAST(body AS TEXT), '$.created_at') AS at"              \
	" FROM webhook WHERE type IN ('device.offline', 'device.online')"      \
	" AND "
#define CONSOLE_DB_DEVICE_TAIL                                                 \
	") WHERE dev IS NOT NULL ORDER BY id"                                  \
	" ON CONFLICT (device_id) DO UPDATE SET"                               \
	" recipient_id = excluded.recipient_id, offline = excluded.offline,"   \
	" last_seen = excluded.last_seen, since = excluded.since"              \
	" WHERE excluded.since >= device_state.since"

/* user_version 5 to 6 in one transaction: a duress alarm reopens a
 * closed alert, alert_device, device_state's heard_at and the retention
 * triggers of console_retention_upgrade6; 0, or -1 (logged, nothing
 * changed). */
int console_db_upgrade6(sqlite3 *db);
/* user_version 6 to 7 in one transaction: a duress alarm reopens a
 * closed alert only through the hook of its own recipient; 0, or -1
 * (logged, nothing changed). */
int console_db_upgrade7(sqlite3 *db);

#endif
