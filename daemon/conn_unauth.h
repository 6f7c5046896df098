/*
 * The device connections not yet authenticated, by source (an IPv4
 * address or an IPv6 /64, netaddr.h) and by IPv6 /48: how many each
 * source holds, for max_unauthenticated_per_address, and which one gives
 * way when a newcomer finds max_unauthenticated or max_connections
 * reached.
 *
 * Every device is unauthenticated when it arrives.  When newcomers were
 * refused at the cap, max_unauthenticated / max_unauthenticated_per_address
 * sources (40 at the defaults) holding plain TCP connections, and opening
 * new ones as the relay closed them at auth_timeout, kept every device
 * out for as long as they went on.  Now a newcomer takes the place of an
 * unauthenticated connection chosen by the widest prefix holding the
 * most: the IPv4 address or IPv6 /48 holding the most, within a /48 its
 * /64 holding the most, and that source's oldest connection.  Among
 * those that hold as many, the one that came to hold that many first
 * gives way first.
 *
 * Grouping by /64 alone was not enough: anyone can rent a /48, which
 * holds 65,536 /64s, one connection each, and as many /64s as places
 * hold the cap one each, so that every source "holds the most" and a
 * device's new connection, the only one from its address, was closed in
 * its turn.  Counted by /48, such an attacker holds the most and gives
 * way before any lone device.  An attacker now needs as many IPv4
 * addresses or IPv6 /48s as places (10,000 at the defaults).  IPv4 has
 * no wider level: phones behind carrier NAT share a carrier's few
 * addresses, and grouping them by /24 would make those phones, not an
 * attacker with addresses spread over many /24s, the ones to give way.
 *
 * Each step is O(1): at each level the entries are kept in one list per
 * count with the highest count known (tally.h), and each source keeps
 * its connections oldest first.  Sources and /48s are found in an index
 * by their exact key (strindex.h), hashed with a secret: keys that
 * collide do not share a count, so nobody can make a device's source
 * look busy, nor aim at one bucket.
 */
#ifndef ALERTRELAY_CONN_UNAUTH_H
#define ALERTRELAY_CONN_UNAUTH_H

#include <stddef.h>

struct relay;
struct conn;
struct conn_unauth;

struct conn_unauth *conn_unauth_new(void);
/* After every connection was freed. */
void conn_unauth_free(struct conn_unauth *u);
/* Unauthenticated connections the source (netaddr_source()) holds. */
unsigned conn_unauth_held(const struct conn_unauth *u, const unsigned char *key,
    size_t len);
/* Counts c, from the source in c->source, until it authenticates or
 * closes (relay->nunauth too).  Remove is a no-op for a connection not
 * counted. */
void conn_unauth_add(struct relay *relay, struct conn *c);
void conn_unauth_remove(struct relay *relay, struct conn *c);
/* Closes the oldest unauthenticated connection of the source holding
 * the most within the IPv4 address or IPv6 /48 holding the most, to
 * make room for a newcomer; cap names the limit reached
 * (for the log).  1 if one was closed, 0 if there was none. */
int conn_unauth_evict(struct relay *relay, const char *cap, long limit);

#endif
