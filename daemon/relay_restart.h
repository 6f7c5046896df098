/*
 * The settings a reload cannot apply, because they are used once, at
 * start: sockets bound, privileges dropped, the spool and the Redis
 * connections opened.  A reload that changes one of them is refused as a
 * whole and names them, instead of reporting a success that is not one.
 */
#ifndef ALERTRELAY_RELAY_RESTART_H
#define ALERTRELAY_RELAY_RESTART_H

#include <stddef.h>

#include "relay_config.h"

/* How many such settings differ between the running configuration and
 * the new one; their names ("[relay] listen, [redis] address") in buf. */
size_t relay_restart_needed(const struct relay_config *running,
    const struct relay_config *next, char *buf, size_t len);

#endif
