/*
 * The device connections not yet authenticated, by source (an IPv4
 * address or an IPv6 /64, netaddr.h): how many each source holds, for
 * max_unauthenticated_per_address, and which one gives way when a
 * newcomer finds max_unauthenticated or max_connections reached.
 *
 * Every device is unauthenticated when it arrives.  When newcomers were
 * refused at the cap, max_unauthenticated / max_unauthenticated_per_address
 * sources (40 at the defaults) holding plain TCP connections, and opening
 * new ones as the relay closed them at auth_timeout, kept every device
 * out for as long as they went on.  Now a newcomer takes the place of
 * the oldest connection of the source holding the most; among the
 * sources that hold as many, the one that came to hold that many first
 * gives way first.  While the cap is full and its connections come from
 * fewer sources than it has places, some source holds two or more, so a
 * device's new connection, the only one from its address, is not the one
 * closed.  Only an attacker with as many sources as places, one
 * connection each (10,000 at the defaults: an IPv6 /50 has 16,384
 * /64s), reaches it, and then in its turn, after the sources that held
 * their one before it came: max_unauthenticated new connections within
 * the device's handshake.
 *
 * Each step is O(1): the sources are kept in one list per count, the
 * highest count held is known, and each source keeps its connections
 * oldest first.  A source is found in a hash table by its exact key,
 * hashed with a secret: sources that collide do not share a count, so
 * nobody can make a device's source look busy, nor aim at one chain.
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
 * the most, to make room for a newcomer; cap names the limit reached
 * (for the log).  1 if one was closed, 0 if there was none. */
int conn_unauth_evict(struct relay *relay, const char *cap, long limit);

#endif
