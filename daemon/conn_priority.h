/*
 * Handshakes below everything else, without starving them (relay.h,
 * RELAY_PRIO_*).  A device connection runs at RELAY_PRIO_HANDSHAKE until
 * it authenticated (its TLS handshake, then its auth frame: an Ed25519
 * check, an audit record and a log line, about 70 us), so that a
 * reconnect storm does not hold up the alerts of devices already
 * connected: a thousand auth frames can arrive in one turn of the loop.
 * Strict priorities would let sustained work at the default priority
 * (escalating hundreds of open alerts, say) stop every handshake for as
 * long as it lasts, so a valve watches: when connections wait to
 * authenticate, no handshake took a step for CONN_PRIORITY_STARVED_MS
 * and the loop has not reached the low queue for as long (a canary
 * callback queued there has not run), the connections not yet
 * authenticated are raised to the default priority, at most 64 at a
 * time (the longest waiting), and share the loop fairly with the rest.
 *
 * When a connection's priority may change.  bufferevent_priority_set()
 * also moves the bufferevent's deferred callback, and libevent 2.1 moves
 * it even while it waits in the loop's active queue: it then stays
 * linked in the old priority's queue but is taken out of the new one's,
 * which corrupts both queues, and callbacks queued afterwards are lost
 * for good (a paused connection's resume, its reads, Redis replies).  A
 * TLS bufferevent queues that callback for its write callback after
 * writes of application data, and for its read callback when its input
 * reaches the high-water mark.  A device connection has no write
 * callback until it closes (conn_error()), and before it authenticated
 * its input holds no more than one auth frame, which is handled at once
 * or closes the connection.  So the priority changes only before
 * authentication: when the connection is accepted, by the valve, at the
 * handshake's end (where libevent makes its read and write events anew,
 * at the default priority: they are lowered again), and when the device
 * authenticated, raised for good.
 */
#ifndef ALERTRELAY_CONN_PRIORITY_H
#define ALERTRELAY_CONN_PRIORITY_H

#include <stdint.h>

#include <openssl/ssl.h>

struct relay;
struct conn_priority;
struct bufferevent;

#define CONN_PRIORITY_STARVED_MS 100

struct conn_priority *conn_priority_new(struct relay *relay);
void conn_priority_free(struct conn_priority *p);
/* Puts a connection at the default priority, or back at the
 * handshakes': only before it authenticated (see above); 0, or -1 if
 * libevent refused. */
int conn_priority_raise(struct bufferevent *bev);
int conn_priority_lower(struct bufferevent *bev);
/* Counts the steps of ssl's handshake as progress. */
void conn_priority_watch(SSL *ssl);
/* A handshake finished, or an unauthenticated connection authenticated
 * or closed. */
void conn_priority_progress(struct relay *relay);

#endif
