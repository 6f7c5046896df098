/*
 * Finding the Redis master through Sentinel: asks each configured
 * sentinel in turn "SENTINEL get-master-addr-by-name NAME", without
 * blocking the loop.  redis_conn uses it before every (re)connect, so a
 * failover is followed by the next reconnect.
 */
#ifndef ALERTRELAY_REDIS_SENTINEL_H
#define ALERTRELAY_REDIS_SENTINEL_H

#include <event2/event.h>

/* host is NULL when no sentinel answered (err says why). */
typedef void (
    *sentinel_cb)(const char *host, int port, const char *err, void *arg);

/* sentinels: comma-separated numeric host:port list. */
void sentinel_lookup(struct event_base *base, const char *sentinels,
    const char *master, sentinel_cb cb, void *arg);

#endif
