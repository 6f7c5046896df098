/*
 * Handshakes below everything else, without starving them (relay.h,
 * RELAY_PRIO_*).  A device connection runs at RELAY_PRIO_HANDSHAKE until
 * it authenticates, so that a reconnect storm does not hold up the
 * alerts of devices already connected.  Strict priorities would let
 * sustained work at the default priority (escalating hundreds of open
 * alerts, say) stop every handshake for as long as it lasts, so a valve
 * watches: when connections wait to authenticate, no handshake took a
 * step for CONN_PRIORITY_STARVED_MS and the loop has not reached the low
 * queue for as long (a canary callback queued there has not run), those
 * waiting are raised to the default priority and share the loop fairly
 * with the rest.
 */
#ifndef ALERTRELAY_CONN_PRIORITY_H
#define ALERTRELAY_CONN_PRIORITY_H

#include <stdint.h>

struct relay;
struct conn_priority;

#define CONN_PRIORITY_STARVED_MS 100

struct conn_priority *conn_priority_new(struct relay *relay);
void conn_priority_free(struct conn_priority *p);
#include <openssl/ssl.h>

struct bufferevent;

/* Puts a connection at the default priority (once authenticated, or by
 * the valve); 0, or -1 if libevent refused. */
int conn_priority_raise(struct bufferevent *bev);
/* Counts the steps of ssl's handshake as progress. */
void conn_priority_watch(SSL *ssl);
/* A handshake finished, or an unauthenticated connection authenticated
 * or closed. */
void conn_priority_progress(struct relay *relay);

#endif
