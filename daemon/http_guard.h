/*
 * Limits for an evhttp listener ([ack] listen, [ack] listen_plain,
 * [admin] listen): a cap on open connections (within the descriptor
 * budget of fdbudget.h), a cap and a token bucket per source address, a
 * deadline for the whole request, one request per connection, and a
 * pause instead of a busy loop when accept() runs out of descriptors.
 * How this is done with libevent 2.1's public API is explained at the
 * top of http_guard.c.
 */
#ifndef ALERTRELAY_HTTP_GUARD_H
#define ALERTRELAY_HTTP_GUARD_H

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "metrics.h"
#include "relay_config.h"

struct http_guard;

/* Makes the bufferevent for a new connection (TLS); NULL: a socket. */
typedef struct bufferevent *(*http_guard_bev_fn)(struct event_base *, void *);
typedef void (*http_guard_req_fn)(struct evhttp_request *, void *);

/* Takes over http's bevcb and gencb: requests reach handler(req, arg)
 * once they are whole and within the limits.  The limits are copied. */
struct http_guard *http_guard_new(struct event_base *base, struct evhttp *http,
    enum listener_kind kind, const struct http_limits *lim,
    http_guard_bev_fn make_bev, void *make_arg, http_guard_req_fn handler,
    void *arg);
/* Binds host:port for http; NULL with errno on failure. */
struct evhttp_bound_socket *http_guard_bind(struct http_guard *g,
    const char *host, int port);
/* The bytes of req's reply not yet handed to the kernel: what waits in
 * the filter and in the bufferevent under it (socket or OpenSSL).  The
 * filter's own output is moved down at once, so only this sum tells a
 * long reply (an export) that its reader has stopped. */
size_t http_guard_unsent(struct evhttp_request *req);
/* Before evhttp_free(): connections still open finish on their own. */
void http_guard_free(struct http_guard *g);

#endif
