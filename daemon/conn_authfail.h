/*
 * Refused device authentications in the audit log, by source address
 * (an IPv4 address or an IPv6 /64, netaddr.h).  Anyone who reaches the
 * device port can fail to authenticate as often as [relay] conn_rate
 * lets each of their addresses connect: one record each filled Redis at
 * thousands a second from a few dozen addresses.
 *
 * Within each interval of CONN_AUTHFAIL_INTERVAL_S, the first
 * CONN_AUTHFAIL_SAID refusals of a source (and CONN_AUTHFAIL_SAID_ALL
 * of all sources together) are recorded one by one, with the device id
 * they claimed; the rest are counted, by reason, and at the interval's
 * end (or when the relay stops) each source's count becomes one record
 * ("aggregate n=...", codecount.h), so the log keeps the true number.
 * The first CONN_AUTHFAIL_SLOTS sources of an interval have a place
 * each, found by their exact key (strindex.h); sources that come when
 * every place is taken share one record.  An interval then has at most
 * SAID_ALL + SLOTS + 1 such records, however many addresses take part.  The log
 * lines about these connections have a budget of their own (conn.c).
 */
#ifndef ALERTRELAY_CONN_AUTHFAIL_H
#define ALERTRELAY_CONN_AUTHFAIL_H

#include <stddef.h>

#define CONN_AUTHFAIL_INTERVAL_S 60
#define CONN_AUTHFAIL_SAID 2 /* one by one, per source and interval */
#define CONN_AUTHFAIL_SAID_ALL 20 /* one by one, per interval */
#define CONN_AUTHFAIL_SLOTS 256

struct relay;
struct conn_authfail;

struct conn_authfail *conn_authfail_new(struct relay *relay);
/* Records what is counted, then frees. */
void conn_authfail_free(struct conn_authfail *a);
/* Records what is counted now (the relay stops) and starts anew. */
void conn_authfail_flush(struct conn_authfail *a);
/* One refused authentication from source (len bytes, netaddr_source);
 * why: "unknown_device", "revoked" or "auth_failed".  1 when it is to be
 * recorded one by one (with a is NULL, always); 0 when it was counted. */
int conn_authfail_take(struct conn_authfail *a, const unsigned char *source,
    size_t len, const char *why);

#endif
