/*
 * The devices offline now (console_offline.h), read from device_state:
 * one row per device, kept by console_db.c in each notice's
 * transaction, so the list costs what is offline, not the history.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "console.h"
#include "console_db.h"
#include "console_offline.h"
#include "log.h"

/* Through device_state_offline (offline, since): no sort, no scan. */
static const char console_offline_sql[] =
    "SELECT recipient_id, device_id, last_seen, since FROM device_state"
    " WHERE offline = 1 ORDER BY since LIMIT ?1";

static const char *
console_offline_col(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v != NULL ? v : "";
}

json_t *
console_offline_json(struct console *c)
{
	sqlite3 *db = console_db_sqlite(c->db);
	json_t *out = json_array();
	sqlite3_stmt *s;
	const char *rid, *dev;
	int rc;

	if (out == NULL ||
	    (s = console_db_stmt(c->db, console_offline_sql)) == NULL)
		return out;
	sqlite3_bind_int(s, 1, CONSOLE_OFFLINE_MAX);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rid = console_offline_col(s, 0);
		dev = console_offline_col(s, 1);
		json_array_append_new(out,
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "device_id", dev,
		        "device_alias", console_api_device_alias(c, rid, dev),
		        "recipient_id", rid, "last_seen",
		        console_offline_col(s, 2), "since",
		        console_offline_col(s, 3)));
	}
	if (rc != SQLITE_DONE)
		log_warnx("database: %s", sqlite3_errmsg(db));
	console_db_release(s);
	return out;
}
