/*
 * Limits for an evhttp listener (alertrelayd's [ack] and [admin],
 * alertconsole's listeners, `alertctl receive`): a cap on open
 * connections (within the descriptors the program gives the listener),
 * a cap and a token bucket per source address, a deadline for the whole
 * request, one request per connection, and a pause instead of a busy
 * loop when accept() runs out of descriptors; at the cap, optionally, a
 * newcomer takes the place of an incomplete connection (http_limits.h).
 * How this is done with libevent 2.1's public API is explained at the
 * top of http_guard.c.
 */
#ifndef ALERTRELAY_HTTP_GUARD_H
#define ALERTRELAY_HTTP_GUARD_H

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "refuse_log.h"
#include "http_limits.h"

struct http_guard;

/* Makes the bufferevent for a new connection (TLS); NULL: a socket. */
typedef struct bufferevent *(*http_guard_bev_fn)(struct event_base *, void *);
typedef void (*http_guard_req_fn)(struct evhttp_request *, void *);

/* What the program gives a listener: nothing here knows a program. */
struct http_guard_hooks {
	long fd_cap; /* the most connections it may hold (descriptors) */
	/* A connection turned away (or closed for a newcomer): count and
	 * log it (refuse_log.h); detail names the limit. */
	void (*refused)(void *arg, enum conn_refuse why, const char *detail);
	void *arg;
};

/* Takes over http's bevcb and gencb: requests reach handler(req, arg)
 * once they are whole and within the limits.  Limits and hooks are
 * copied. */
struct http_guard *http_guard_new(struct event_base *base, struct evhttp *http,
    const struct http_limits *lim, const struct http_guard_hooks *hooks,
    http_guard_bev_fn make_bev, void *make_arg, http_guard_req_fn handler,
    void *arg);
/* The largest request line and headers, and body, for evhttp; a
 * connection holding more unparsed input than both together is shut
 * (CONN_REFUSE_TOO_LARGE).  8 KiB and 64 KiB until set. */
void http_guard_set_max_request(struct http_guard *g, size_t max_headers,
    size_t max_body);
/* Binds host:port for http; NULL with errno on failure. */
struct evhttp_bound_socket *http_guard_bind(struct http_guard *g,
    const char *host, int port);
/* Closes the listening socket http_guard_bind made, so that new clients
 * are refused (a program stopping); the connections already open go on. */
void http_guard_unbind(struct http_guard *g);
/* The bytes of req's reply not yet handed to the kernel: what waits in
 * the filter and in the bufferevent under it (socket or OpenSSL).  The
 * filter's own output is moved down at once, so only this sum tells a
 * long reply (an export) that its reader has stopped. */
size_t http_guard_unsent(struct evhttp_request *req);
/* The share of RLIMIT_NOFILE for one of nlisteners listeners after
 * reserve descriptors are kept for the rest of the program (8 at
 * least); for http_guard_hooks.fd_cap. */
long http_guard_fd_share(long reserve, long nlisteners);
/* Before evhttp_free(): connections still open finish on their own. */
void http_guard_free(struct http_guard *g);

#endif
