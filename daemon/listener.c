/*
 * The device TLS listeners: binding, accepting, pausing when descriptors
 * run out (listener.h).
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "conn.h"
#include "conn_unauth.h"
#include "fdbudget.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "refusal.h"
#include "relay.h"
#include "xmalloc.h"

#define LISTEN_BACKLOG 1024
#define EMFILE_PAUSE_MS 1000
/* libevent accepts until the backlog is empty in one callback: 10,000
 * devices reconnecting at once were a third of a second of accepts
 * (a TLS object and a bufferevent each) in which an authenticated
 * device's alert waited.  After this many the listener pauses, and goes
 * on at the handshakes' priority (relay.h), or after LISTEN_BATCH_MS
 * at the latest, should other work never leave the loop free. */
#define LISTEN_BATCH 64
#define LISTEN_BATCH_MS 50

struct listener {
	struct listener *next;
	struct relay *relay;
	struct evconnlistener *lev;
	struct event *resume_ev;
	struct event *batch_ev; /* at RELAY_PRIO_HANDSHAKE, made active */
	struct event *batch_timer; /* the same, at most LISTEN_BATCH_MS on */
	unsigned batch; /* accepted since the listener was last resumed */
	char name[INET6_ADDRSTRLEN + 16];
};

/* A flood from one address must not crowd out everyone else. */
static int
listener_rate_ok(struct relay *relay, const struct sockaddr *sa)
{
	unsigned char key[NETADDR_SOURCE_MAX];
	size_t len = netaddr_source(sa, key);
	char detail[32];

	if (ratelimit_take(relay->conn_limit, key, len, monotonic_ms()))
		return 1;
	snprintf(detail, sizeof(detail), "conn_rate=%ld/s",
	    relay->cfg->conn_rate);
	refusal_note(LISTENER_DEVICE, CONN_REFUSE_RATE_LIMITED, detail);
	return 0;
}

/* max_connections within the descriptor budget (fdbudget.h). */
static size_t
listener_max_conns(const struct relay *relay)
{
	long cap = fdbudget_cap(LISTENER_DEVICE);

	return (size_t)(relay->cfg->max_connections < cap
	        ? relay->cfg->max_connections
	        : cap);
}

/* One address may hold at most a quarter of the budget unauthenticated,
 * whatever max_unauthenticated_per_address says, when the budget is
 * small (a low open-files limit). */
static unsigned
listener_max_unauth_per_addr(const struct relay *relay)
{
	long cap = fdbudget_cap(LISTENER_DEVICE) / 4;

	if (cap < 1)
		cap = 1;
	return (unsigned)(relay->cfg->max_unauth_per_addr < cap
	        ? relay->cfg->max_unauth_per_addr
	        : cap);
}

static void
listener_refuse(evutil_socket_t fd, enum conn_refuse why, long limit)
{
	char detail[32];

	metrics.refused[why == CONN_REFUSE_RATE_LIMITED ? REFUSE_RATE_LIMITED
	                                                : REFUSE_BUSY]++;
	snprintf(detail, sizeof(detail), "limit=%ld", limit);
	if (why != CONN_REFUSE_RATE_LIMITED)
		refusal_note(LISTENER_DEVICE, why, detail);
	evutil_closesocket(fd);
}

/*
 * Room for one more device connection.  At max_connections or
 * max_unauthenticated a newcomer takes the place of an unauthenticated
 * connection (conn_unauth.h): every device is unauthenticated when it
 * arrives, and refusing newcomers let a few sources holding the places
 * keep every device out.  Refused when there is none to close, or when
 * a reload lowered a cap below what is held (until enough have
 * authenticated or ended).
 */
static int
listener_room(struct relay *relay, evutil_socket_t fd)
{
	size_t max = listener_max_conns(relay);
	size_t max_unauth = (size_t)relay->cfg->max_unauthenticated;
	int conns_full = relay->nconns >= max;
	const char *cap =
	    conns_full ? "max_connections" : "max_unauthenticated";
	long limit = conns_full ? (long)max : (long)max_unauth;

	if (!conns_full && relay->nunauth < max_unauth)
		return 1;
	if (relay->nconns <= max && relay->nunauth <= max_unauth &&
	    conn_unauth_evict(relay, cap, limit))
		return 1;
	listener_refuse(fd, CONN_REFUSE_MAX_CONNECTIONS, limit);
	return 0;
}

static void
listener_batch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	event_del(l->batch_ev);
	event_del(l->batch_timer);
	l->batch = 0;
	/* not while paused for want of descriptors */
	if (!evtimer_pending(l->resume_ev, NULL) && !l->relay->stopping)
		evconnlistener_enable(l->lev);
}

/* Ends libevent's accept loop after this connection once LISTEN_BATCH
 * were taken: libevent stops when the callback disabled the listener. */
static void
listener_batch_count(struct listener *l)
{
	struct timeval tv = {0, LISTEN_BATCH_MS * 1000};

	if (++l->batch < LISTEN_BATCH)
		return;
	evconnlistener_disable(l->lev);
	event_active(l->batch_ev, EV_TIMEOUT, 0);
	evtimer_add(l->batch_timer, &tv);
}

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct relay *relay = l->relay;
	unsigned char key[NETADDR_SOURCE_MAX];
	size_t len;

	(void)lev;
	listener_batch_count(l);
	if (relay->stopping) {
		evutil_closesocket(fd);
		return;
	}
	/* The limits per source first: a connection they refuse must not
	 * take anyone's place. */
	if (!listener_rate_ok(relay, sa)) {
		listener_refuse(fd, CONN_REFUSE_RATE_LIMITED, 0);
		return;
	}
	len = netaddr_source(sa, key);
	if (conn_unauth_held(relay->unauth, key, len) >=
	    listener_max_unauth_per_addr(relay)) {
		listener_refuse(fd, CONN_REFUSE_PER_ADDRESS,
		    (long)listener_max_unauth_per_addr(relay));
		return;
	}
	if (listener_room(relay, fd))
		conn_accept(relay, fd, sa, salen);
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = {EMFILE_PAUSE_MS / 1000, 0};
	int err = EVUTIL_SOCKET_ERROR();
	char detail[64];

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Once per interval, not once per pause (refusal.h). */
		snprintf(detail, sizeof(detail), "error=\"%s\" pause=%dms",
		    strerror(err), EMFILE_PAUSE_MS);
		refusal_note(LISTENER_DEVICE, CONN_REFUSE_NO_DESCRIPTORS,
		    detail);
		evconnlistener_disable(lev);
		evtimer_add(l->resume_ev, &tv);
		return;
	}
	log_warnx("accept on %s: %s", l->name, strerror(err));
}

static void
listener_free(struct listener *l)
{
	evconnlistener_free(l->lev);
	if (l->resume_ev != NULL)
		event_free(l->resume_ev);
	if (l->batch_ev != NULL)
		event_free(l->batch_ev);
	if (l->batch_timer != NULL)
		event_free(l->batch_timer);
	free(l);
}

static int
listener_open(struct relay *relay, const char *addr)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	socklen_t len = sizeof(ss);
	struct listener *l;
	char host[INET6_ADDRSTRLEN];
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	/* Several workers: one socket each in a SO_REUSEPORT group
	 * (workers.h says why). */
	if (relay->cfg->workers > 1)
		flags |= LEV_OPT_REUSEABLE_PORT;
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) !=
	    0) {
		log_warnx("listen: %s is not a numeric address:port", addr);
		return -1;
	}
	l = xcalloc(1, sizeof(*l));
	l->relay = relay;
	l->lev = evconnlistener_new_bind(relay->base, listener_accept_cb, l,
	    flags, LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (l->lev == NULL) {
		log_warn("listen on %s", addr);
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	l->resume_ev = evtimer_new(relay->base, listener_resume_cb, l);
	l->batch_ev = event_new(relay->base, -1, 0, listener_batch_cb, l);
	l->batch_timer = evtimer_new(relay->base, listener_batch_cb, l);
	if (l->resume_ev == NULL || l->batch_ev == NULL ||
	    l->batch_timer == NULL ||
	    event_priority_set(l->batch_ev, RELAY_PRIO_HANDSHAKE) != 0) {
		log_warnx("listen on %s: cannot make its events", addr);
		listener_free(l);
		return -1;
	}
	/* Report the real port, which matters when the config says 0. */
	getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss,
	    &len);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(l->name, sizeof(l->name), "[%s]:%u", host,
		    ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(l->name, sizeof(l->name), "%s:%u", host,
		    ntohs(s4->sin_port));
	}
	log_info("listening on %s", l->name);
	l->next = relay->listeners;
	relay->listeners = l;
	return 0;
}

int
listener_open_all(struct relay *relay)
{
	char *list = xstrdup(relay->cfg->listen), *tok, *save = NULL;
	int rc = 0;

	for (tok = strtok_r(list, ", ", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ", ", &save))
		rc = listener_open(relay, tok);
	free(list);
	if (rc == 0 && relay->listeners == NULL) {
		log_warnx("listen: no address given");
		rc = -1;
	}
	return rc;
}

void
listener_close_all(struct relay *relay)
{
	struct listener *l;

	while ((l = relay->listeners) != NULL) {
		relay->listeners = l->next;
		listener_free(l);
	}
}
