/*
 * The store's queries for the alert's views beyond the queue: the
 * caller history (a device's alerts, newest first, a page at a time)
 * and the later positions of an alert (alert.location webhooks).  On the
 * event loop, like console_db.h, and bounded: an index on the device
 * (made at open) and at most a page or CONSOLE_DB_UPDATES_MAX rows.
 */
#ifndef ALERTCONSOLE_CONSOLE_DB_VIEW_H
#define ALERTCONSOLE_CONSOLE_DB_VIEW_H

#include <sqlite3.h>

#include "console_db.h"

#define CONSOLE_DB_UPDATES_MAX 20 /* newest position updates looked at */

/* A webhook's device, from its stored body (indexed for the alerts by
 * console_db_view_init: a query must spell it the same to use that). */
#define CONSOLE_DB_DEVICE "json_extract(CAST(body AS TEXT), '$.device_id')"

/* The device index; 0, or -1 (logged). */
int console_db_view_init(struct console_db *db);

/* fn for each alert of device_id (its first delivery) stored before the
 * row before (0: from the newest), newest first, at most limit; the
 * row id is the cursor for the next page.  -1 on a database error. */
int console_db_device_alerts(struct console_db *db, const char *device_id,
    long long before, int limit,
    void (*fn)(void *arg, const struct console_db_alert *a, long long id),
    void *arg);

/* fn for each alert.location body stored for alert_id and recipient_id,
 * newest first, at most CONSOLE_DB_UPDATES_MAX. */
int console_db_updates(struct console_db *db, const char *alert_id,
    const char *recipient_id,
    void (*fn)(void *arg, const char *body, size_t len), void *arg);

#endif
