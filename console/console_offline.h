/*
 * Supervised devices that are offline now: the relay's device.offline
 * notices not yet followed by a device.online for the same device,
 * read from the stored webhooks (an index on the device of those
 * notices, made at open), for the queue (GET /api/alerts "offline").
 */
#ifndef ALERTCONSOLE_CONSOLE_OFFLINE_H
#define ALERTCONSOLE_CONSOLE_OFFLINE_H

#include <jansson.h>

#define CONSOLE_OFFLINE_MAX 100 /* devices listed at most */

struct console;
struct console_db;

/* The index; 0, or -1 (logged). */
int console_offline_init(struct console_db *db);

/* [{"device_id","device_alias","recipient_id","last_seen","since"}],
 * longest offline first; an empty array on a database error (logged). */
json_t *console_offline_json(struct console *c);

#endif
