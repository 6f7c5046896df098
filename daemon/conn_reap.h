/*
 * Connections closed by their peer, freed later at the handshakes'
 * priority (relay.h).  Freeing a connection is mostly OpenSSL's SSL_free
 * and the socket's close(): 10,000 devices dropping at once (a network
 * outage, the reconnect storm of make bench) were 150 ms of it at the
 * default priority, in front of the alert of a device still connected.
 * conn_retire() (conn.c) first takes away everything through which the
 * connection could still be reached; the rest waits here.
 */
#ifndef ALERTRELAY_CONN_REAP_H
#define ALERTRELAY_CONN_REAP_H

struct relay;
struct conn;
struct conn_reap;

#define CONN_REAP_BATCH 64 /* freed per turn of the low queue */
#define CONN_REAP_LATE_MS 100 /* at the latest, at the default priority */

struct conn_reap *conn_reap_new(struct relay *relay);
/* Frees nothing: conn_close_all() frees every connection, these too. */
void conn_reap_free(struct conn_reap *r);
void conn_reap_add(struct conn_reap *r, struct conn *c);
/* Forgets them all, about to be freed by conn_close_all(). */
void conn_reap_forget_all(struct conn_reap *r);

#endif
