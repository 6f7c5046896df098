/*
 * One device connection: TLS handshake, challenge authentication, then
 * alert frames, each answered only once Redis made it durable.  Every
 * phase has a deadline; every protocol error gets an error frame and a
 * closed connection, without affecting anyone else.
 */
#ifndef ALERTRELAY_CONN_H
#define ALERTRELAY_CONN_H

#include <sys/socket.h>

#include <event2/util.h>
#include <jansson.h>

struct relay;
struct conn;

/* Takes ownership of fd; the connection counts as unauthenticated
 * (conn_unauth.h) until it authenticated or closed. */
void conn_accept(struct relay *relay, evutil_socket_t fd,
    const struct sockaddr *sa, int salen);
/* Pushes an alert's event to every connection of its device. */
void conn_receipt(struct relay *relay, const char *device_id,
    const char *alert_id, const json_t *receipt);
/* Disconnects devices revoked or re-keyed by a reload. */
void conn_revoke_sweep(struct relay *relay);
/* Closes every connection (shutdown). */
void conn_close_all(struct relay *relay);
/* Ends the alerts still being stored for devices gone (at exit, before
 * the spool and the store are freed). */
void conn_ingest_end_all(struct relay *relay);

#endif
