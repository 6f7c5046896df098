/*
 * Handshakes below everything else, without starving them (relay.h,
 * RELAY_PRIO_*).  A device connection runs at RELAY_PRIO_HANDSHAKE until
 * its TLS handshake ends, so that a reconnect storm does not hold up the
 * alerts of devices already connected.  Strict priorities would let
 * sustained work at the default priority (escalating hundreds of open
 * alerts, say) stop every handshake for as long as it lasts, so a valve
 * watches: when connections wait to authenticate, no handshake took a
 * step for CONN_PRIORITY_STARVED_MS and the loop has not reached the low
 * queue for as long (a canary callback queued there has not run), the
 * connections still in their handshake are raised to the default
 * priority, at most 64 at a time (the longest waiting), and share the
 * loop fairly with the rest.
 *
 * When a connection's priority may change.  bufferevent_priority_set()
 * also moves the bufferevent's deferred callback (the one that runs its
 * write callback once the output has drained), and libevent 2.1 moves
 * it even while it waits in the loop's active queue: it then stays
 * linked in the old priority's queue but is taken out of the new one's,
 * which corrupts both queues, and callbacks queued afterwards are lost
 * for good (a paused connection's resume, its reads, Redis replies).  A
 * TLS bufferevent queues that callback only once its handshake is over
 * (it comes from writes of application data), so the priority is changed
 * only before that: when the connection is accepted, by the valve while
 * it is still in its handshake, and in the handshake's end callback,
 * where libevent has just made its read and write events anew.
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
/* Puts a connection at the default priority: only while its handshake
 * runs or from its end callback (see above); 0, or -1 if libevent
 * refused. */
int conn_priority_raise(struct bufferevent *bev);
/* Counts the steps of ssl's handshake as progress. */
void conn_priority_watch(SSL *ssl);
/* A handshake finished, or an unauthenticated connection authenticated
 * or closed. */
void conn_priority_progress(struct relay *relay);

#endif
