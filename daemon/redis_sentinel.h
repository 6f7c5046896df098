/*
 * Finding the Redis master through Sentinel: asks each configured
 * sentinel in turn "SENTINEL get-master-addr-by-name NAME", without
 * blocking the loop.  redis_conn uses it before every (re)connect, so a
 * failover is followed by the next reconnect.
 *
 * Every wait is bounded: a sentinel that accepts the connection but
 * never answers (stopped, hung, behind a firewall that drops) is given
 * up after 2 s and the next one asked; the whole lookup ends within
 * 6 s, answered or not, so the caller can retry with its backoff.
 */
#ifndef ALERTRELAY_REDIS_SENTINEL_H
#define ALERTRELAY_REDIS_SENTINEL_H

#include <event2/event.h>

struct sentinel_lookup;

/* host is NULL when no sentinel answered (err says why). */
typedef void (
    *sentinel_cb)(const char *host, int port, const char *err, void *arg);

/* sentinels: comma-separated numeric host:port list.  cb is called once,
 * from the loop, never before this returns, unless cancelled. */
struct sentinel_lookup *sentinel_lookup(struct event_base *base,
    const char *sentinels, const char *master, sentinel_cb cb, void *arg);
void sentinel_lookup_cancel(struct sentinel_lookup *l);

#endif
