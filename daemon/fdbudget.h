/*
 * The descriptor budget.  Every connection, Redis link, delivery and
 * spool file is a descriptor, and when the process runs out, whoever asks
 * next fails: a device's panic alert, a Redis reconnect or a webhook.  So
 * each listener gets a fixed share of RLIMIT_NOFILE, read once at start,
 * and a reserve stays for what the relay opens itself:
 *
 *   limit  = RLIMIT_NOFILE (soft, after fdlimit_raise)
 *   usable = limit - reserve_fds      (reserve_fds 0: limit/4, 16..1024)
 *   each HTTP listener (ack, ack_plain, admin):
 *            min(its max_connections, usable / 8)
 *   device = min(max_connections, usable - the HTTP listeners' shares)
 *
 * So HTTP listeners together hold at most 3/8 of the usable descriptors,
 * devices the rest, and the reserve is never taken by any listener.
 * At a limit of 256: reserve 64, each HTTP listener <= 24, devices 128.
 */
#ifndef ALERTRELAY_FDBUDGET_H
#define ALERTRELAY_FDBUDGET_H

#include "metrics.h"
#include "relay_config.h"

/* The descriptors the HTTP listeners may want (for fdlimit_raise). */
long fdbudget_http_wanted(const struct relay_config *cfg);
/* Reads RLIMIT_NOFILE and shares it out; logs the result. */
void fdbudget_plan(const struct relay_config *cfg);
/* The most connections kind may hold open (before its own configured
 * cap, which may be lower); a large number before fdbudget_plan. */
long fdbudget_cap(enum listener_kind kind);

#endif
