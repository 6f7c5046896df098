/*
 * Sharing RLIMIT_NOFILE between the listeners and a reserve (fdbudget.h).
 */
#include <sys/resource.h>

#include <limits.h>

#include "fdbudget.h"
#include "log.h"

#define FDBUDGET_RESERVE_MIN 16
#define FDBUDGET_RESERVE_MAX 1024
#define FDBUDGET_HTTP_SHARE 8 /* each HTTP listener: usable / this */

static long caps[LISTENER_NKINDS];
static int planned;

static long
fdbudget_min(long a, long b)
{
	return a < b ? a : b;
}

long
fdbudget_http_wanted(const struct relay_config *cfg)
{
	long n = 0;

	if (cfg->ack_listen[0] != '\0')
		n += cfg->ack_limits.max_conns;
	if (cfg->ack_listen_plain[0] != '\0')
		n += cfg->ack_limits.max_conns;
	if (cfg->admin_listen[0] != '\0')
		n += cfg->admin_limits.max_conns;
	return n;
}

static long
fdbudget_reserve(const struct relay_config *cfg, long limit)
{
	long r = limit / 4;

	if (cfg->reserve_fds > 0)
		return cfg->reserve_fds;
	if (r < FDBUDGET_RESERVE_MIN)
		r = FDBUDGET_RESERVE_MIN;
	return fdbudget_min(r, FDBUDGET_RESERVE_MAX);
}

/* One HTTP listener's share: at least 1 so that it still works (slowly)
 * when the limit is absurdly low. */
static long
fdbudget_http(const char *listen, long configured, long usable)
{
	long share = usable / FDBUDGET_HTTP_SHARE;

	if (listen[0] == '\0')
		return 0;
	return fdbudget_min(configured, share > 1 ? share : 1);
}

void
fdbudget_plan(const struct relay_config *cfg)
{
	struct rlimit rl;
	long limit, reserve, usable, http;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return;
	}
	limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > LONG_MAX / 2
	    ? LONG_MAX / 2
	    : (long)rl.rlim_cur;
	reserve = fdbudget_reserve(cfg, limit);
	usable = limit > reserve ? limit - reserve : 0;
	caps[LISTENER_ACK] =
	    fdbudget_http(cfg->ack_listen, cfg->ack_limits.max_conns, usable);
	caps[LISTENER_ACK_PLAIN] = fdbudget_http(cfg->ack_listen_plain,
	    cfg->ack_limits.max_conns, usable);
	caps[LISTENER_ADMIN] = fdbudget_http(cfg->admin_listen,
	    cfg->admin_limits.max_conns, usable);
	http = caps[LISTENER_ACK] + caps[LISTENER_ACK_PLAIN] +
	    caps[LISTENER_ADMIN];
	caps[LISTENER_DEVICE] = fdbudget_min(cfg->max_connections,
	    usable > http + 1 ? usable - http : 1);
	planned = 1;
	log_info("descriptors: limit=%ld reserve=%ld device=%ld ack=%ld "
	         "ack_plain=%ld admin=%ld",
	    limit, reserve, caps[LISTENER_DEVICE], caps[LISTENER_ACK],
	    caps[LISTENER_ACK_PLAIN], caps[LISTENER_ADMIN]);
}

long
fdbudget_cap(enum listener_kind kind)
{
	return planned ? caps[kind] : LONG_MAX;
}
