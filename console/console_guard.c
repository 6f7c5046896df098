/*
 * The console's side of daemon/http_guard.c (console_guard.h): the
 * descriptor share and the refusal log that alertrelayd's fdbudget.c
 * and refusal.c give it there, here without alertrelayd's metrics.
 */
#include <sys/resource.h>

#include <limits.h>
#include <stdint.h>

#include "console_guard.h"
#include "fdbudget.h"
#include "log.h"
#include "refusal.h"
#include "util.h"

/* Descriptors kept for the database, key files, the log and the
 * listening sockets themselves. */
#define CONSOLE_GUARD_RESERVE 32

static const char *const console_guard_reasons[CONN_REFUSE_NREASONS] =
    {"max_connections", "max_connections_per_address", "rate_limited",
        "request_timeout", "no_descriptors"};

struct console_guard_log {
	int64_t last_ms; /* 0: never logged */
	unsigned long long unlogged;
};

static struct console_guard_log console_guard_logs[LISTENER_NKINDS]
                                                  [CONN_REFUSE_NREASONS];

static const char *
console_guard_name(enum listener_kind kind)
{
	if (kind == CONSOLE_GUARD_METRICS)
		return "metrics_listen";
	return kind == CONSOLE_GUARD_HOOKS ? "webhook_listen" : "listen";
}

/* http_guard's hook: the two listeners share what the process may open,
 * half each, less a reserve. */
long
fdbudget_cap(enum listener_kind kind)
{
	static long cap = -1;
	struct rlimit rl;

	(void)kind;
	if (cap >= 0)
		return cap;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		cap = LONG_MAX;
	else if ((long)rl.rlim_cur <= 2 * CONSOLE_GUARD_RESERVE)
		cap = 8;
	else
		cap = ((long)rl.rlim_cur - CONSOLE_GUARD_RESERVE) / 2;
	return cap;
}

/* http_guard's hook: one line per listener and reason per interval at
 * most, with the count since the last one. */
void
refusal_note(enum listener_kind kind, enum conn_refuse why, const char *detail)
{
	struct console_guard_log *l = &console_guard_logs[kind][why];
	int64_t now = monotonic_ms();

	l->unlogged++;
	if (l->last_ms != 0 && now - l->last_ms < REFUSAL_LOG_INTERVAL * 1000)
		return;
	log_warnx("connections refused: listener=%s reason=%s count=%llu%s%s "
	          "(one line per %d s at most)",
	    console_guard_name(kind), console_guard_reasons[why], l->unlogged,
	    detail ? " " : "", detail ? detail : "", REFUSAL_LOG_INTERVAL);
	l->unlogged = 0;
	l->last_ms = now;
}

struct http_guard *
console_guard_new(struct event_base *base, struct evhttp *http,
    enum listener_kind kind, const struct console_limits *lim,
    http_guard_bev_fn make_bev, void *make_arg, http_guard_req_fn handler,
    void *arg)
{
	struct http_limits hl;

	hl.max_conns = lim->max_conns;
	hl.max_per_addr = lim->max_per_addr;
	hl.conn_rate = lim->conn_rate;
	hl.conn_burst = lim->conn_burst;
	hl.request_timeout = lim->request_timeout;
	return http_guard_new(base, http, kind, &hl, make_bev, make_arg,
	    handler, arg);
}
