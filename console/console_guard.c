/*
 * The console's hooks for common/http_guard.c (console_guard.h): its
 * share of the descriptors and its log of refusals, without
 * alertrelayd's metrics.
 */
#include <string.h>

#include "console_guard.h"

/* Descriptors kept for the database, key files, the log and the
 * listening sockets themselves. */
#define CONSOLE_GUARD_RESERVE 32

static struct refuse_log console_guard_logs[CONSOLE_GUARD_NKINDS]
                                           [CONN_REFUSE_NREASONS];

static const char *const console_guard_names[CONSOLE_GUARD_NKINDS] = {"listen",
    "webhook_listen", "metrics_listen"};

/* What the hooks' argument points at: one per kind. */
static const enum console_guard_kind console_guard_kinds[CONSOLE_GUARD_NKINDS] =
    {CONSOLE_GUARD_PAGE, CONSOLE_GUARD_HOOKS, CONSOLE_GUARD_METRICS};

static void
console_guard_refused(void *arg, enum conn_refuse why, const char *detail)
{
	enum console_guard_kind kind = *(const enum console_guard_kind *)arg;

	refuse_log_note(&console_guard_logs[kind][why],
	    console_guard_names[kind], why, detail);
}

struct http_guard *
console_guard_new(struct event_base *base, struct evhttp *http,
    enum console_guard_kind kind, const struct console_limits *lim,
    http_guard_bev_fn make_bev, void *make_arg, http_guard_req_fn handler,
    void *arg)
{
	struct http_limits hl;
	struct http_guard_hooks hooks;

	memset(&hl, 0, sizeof(hl));
	hl.max_conns = lim->max_conns;
	hl.max_per_addr = lim->max_per_addr;
	hl.conn_rate = lim->conn_rate;
	hl.conn_burst = lim->conn_burst;
	hl.request_timeout = lim->request_timeout;
	/* At the cap a newcomer takes the place of an idle or unfinished
	 * connection of the address holding the most: otherwise a few
	 * addresses holding every place keep the relay's webhooks and the
	 * operators' pages in the backlog for as long as they churn.  Event
	 * streams and requests being answered are never closed for it. */
	hl.evict = 1;
	/* The page and webhook listeners share what the process may open,
	 * half each, less a reserve (the metrics listener is small). */
	hooks.fd_cap = http_guard_fd_share(CONSOLE_GUARD_RESERVE, 2);
	hooks.refused = console_guard_refused;
	hooks.arg = (void *)&console_guard_kinds[kind];
	return http_guard_new(base, http, &hl, &hooks, make_bev, make_arg,
	    handler, arg);
}
