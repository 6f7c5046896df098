/*
 * Supervised devices that are offline now: the relay's device.offline
 * notices not yet followed (by created_at) by a device.online for the
 * same device, read from the table of each device's state now
 * (device_state, console_db.c), for the queue (GET /api/alerts
 * "offline").
 */
#ifndef ALERTCONSOLE_CONSOLE_OFFLINE_H
#define ALERTCONSOLE_CONSOLE_OFFLINE_H

#include <jansson.h>

#define CONSOLE_OFFLINE_MAX 100 /* devices listed at most */

struct console;

/* [{"device_id","device_alias","recipient_id","last_seen","since"}],
 * longest offline first; an empty array on a database error (logged). */
json_t *console_offline_json(struct console *c);

#endif
