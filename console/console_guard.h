/*
 * The limits of the console's listeners: daemon/http_guard.c, the same
 * object alertrelayd links (a cap on open connections, a cap and a token
 * bucket per source address, a deadline for the whole request, one
 * request per connection), with the two hooks it calls supplied here
 * for the console: its share of the descriptors (fdbudget_cap) and its
 * log of refusals (refusal_note).
 */
#ifndef ALERTCONSOLE_CONSOLE_GUARD_H
#define ALERTCONSOLE_CONSOLE_GUARD_H

#include "console.h"
#include "http_guard.h"

/* http_guard names a listener by alertrelayd's kinds: the console's
 * page listener counts as one kind, its webhook listener as another,
 * its metrics listener as a third. */
#define CONSOLE_GUARD_PAGE LISTENER_ADMIN
#define CONSOLE_GUARD_HOOKS LISTENER_ACK
#define CONSOLE_GUARD_METRICS LISTENER_ACK_PLAIN

/* The guard for one listener; see http_guard_new(). */
struct http_guard *console_guard_new(struct event_base *base,
    struct evhttp *http, enum listener_kind kind,
    const struct console_limits *lim, http_guard_bev_fn make_bev,
    void *make_arg, http_guard_req_fn handler, void *arg);

#endif
