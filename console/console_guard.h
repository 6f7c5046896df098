/*
 * The limits of the console's listeners: common/http_guard.c, the same
 * object alertrelayd and `alertctl receive` link (a cap on open
 * connections, a cap and a token bucket per source address, a deadline
 * for the whole request, one request per connection), with the hooks it
 * takes supplied here for the console: its share of the descriptors and
 * its log of refusals.
 */
#ifndef ALERTCONSOLE_CONSOLE_GUARD_H
#define ALERTCONSOLE_CONSOLE_GUARD_H

#include "console.h"
#include "http_guard.h"

/* The console's listeners, for the guard's counts and logs. */
enum console_guard_kind {
	CONSOLE_GUARD_PAGE, /* listen */
	CONSOLE_GUARD_HOOKS, /* webhook_listen */
	CONSOLE_GUARD_METRICS, /* metrics_listen */
	CONSOLE_GUARD_NKINDS
};

/* The guard for one listener; see http_guard_new(). */
struct http_guard *console_guard_new(struct event_base *base,
    struct evhttp *http, enum console_guard_kind kind,
    const struct console_limits *lim, http_guard_bev_fn make_bev,
    void *make_arg, http_guard_req_fn handler, void *arg);

#endif
