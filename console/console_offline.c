/*
 * The devices offline now (console_offline.h).  Per device, the newest
 * notice by the relay's created_at (not by arrival: a retried
 * device.offline may arrive after the device.online that ended it)
 * says whether it is offline.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "console.h"
#include "console_db.h"
#include "console_offline.h"
#include "log.h"

/* The notices' device, read from the stored body (a notice has nothing
 * sealed) through an index on that expression, so no column is added to
 * the webhook table. */
static const char console_offline_schema[] =
    "CREATE INDEX IF NOT EXISTS webhook_device_notice ON webhook("
    "json_extract(CAST(body AS TEXT), '$.device_id'), id) "
    "WHERE type IN ('device.offline', 'device.online');";

/* SQLite takes the bare columns of a MAX() group from the row of the
 * maximum: the newest notice of each device. */
static const char console_offline_sql[] =
    "SELECT recipient_id, dev, last_seen, created FROM ("
    "SELECT recipient_id, type,"
    " json_extract(CAST(body AS TEXT), '$.device_id') AS dev,"
    " json_extract(CAST(body AS TEXT), '$.last_seen') AS last_seen,"
    " MAX(json_extract(CAST(body AS TEXT), '$.created_at')) AS created"
    " FROM webhook WHERE type IN ('device.offline', 'device.online')"
    " GROUP BY dev) WHERE type = 'device.offline' AND dev IS NOT NULL"
    " ORDER BY created LIMIT ?1";

int
console_offline_init(struct console_db *d)
{
	char *err = NULL;

	if (sqlite3_exec(console_db_sqlite(d), console_offline_schema, NULL,
	        NULL, &err) != SQLITE_OK) {
		log_warnx("database: %s", err != NULL ? err : "error");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

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
	    sqlite3_prepare_v2(db, console_offline_sql, -1, &s, NULL) !=
	        SQLITE_OK) {
		log_warnx("database: %s", sqlite3_errmsg(db));
		return out;
	}
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
	sqlite3_finalize(s);
	return out;
}
