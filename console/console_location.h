/*
 * An alert's newest position.  The alert carries the position of its
 * moment; a device may send later ones while the alert is open
 * (alert.location webhooks, docs/PROTOCOL.md): the inner alert again,
 * sealed and signed by the same device, with the new position and, as
 * its created_at, the time of that fix.  The newest fix wins, whatever
 * order the webhooks came in, so a replayed old one moves nothing.
 */
#ifndef ALERTCONSOLE_CONSOLE_LOCATION_H
#define ALERTCONSOLE_CONSOLE_LOCATION_H

#include <jansson.h>

#include "alert.h"
#include "console.h"

/* {"lat","lon","accuracy_m","fixed_at","updates"} or JSON null. */
json_t *console_location_json(struct console *c, struct hook_config *hook,
    const char *recipient_id, const struct alert *a);

#endif
