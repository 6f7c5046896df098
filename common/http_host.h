/*
 * Whether a Host header names this listener, as pure functions (fuzzed
 * by fuzz/fuzz_ack_request.c).  A listener on loopback answers only a
 * Host naming itself (its numeric address or "localhost", with its port
 * or none) or a name it was told it is reached by: a web page whose name
 * was pointed at 127.0.0.1 (DNS rebinding) gets nothing from it.
 */
#ifndef ALERTRELAY_HTTP_HOST_H
#define ALERTRELAY_HTTP_HOST_H

#include <sys/socket.h>

struct evhttp_request;

/* 1 when host (the Host header, may be NULL) names local, the address
 * the request came in on: that address or "localhost", with local's
 * port or none. */
int http_host_local(const char *host, const struct sockaddr *local);

/* 1 when host is name (case-insensitive), with any port or none: a
 * name the operator configured (a reverse proxy may use another port).
 * 0 when host or name is NULL. */
int http_host_named(const char *host, const char *name);

/* The address req came in on, the listener's own, into ss; -1 when it
 * cannot be known. */
int http_host_local_addr(struct evhttp_request *req,
    struct sockaddr_storage *ss);

#endif
