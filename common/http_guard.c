/*
 * Limits for the evhttp listeners (http_guard.h).
 *
 * libevent 2.1's evhttp accepts connections itself and has no accept
 * hook, so the limits are built from what its public API does offer:
 *
 * - evhttp_set_bevcb() is called once per accepted connection, before
 *   evhttp sets the descriptor on the bufferevent it gets.  We return a
 *   filter bufferevent (bufferevent_filter_new, no filter functions) over
 *   the socket or OpenSSL bufferevent; a filter passes SET_FD/GET_FD to
 *   the bufferevent under it, and calls our free_context when evhttp
 *   frees the connection.  That gives a count of open connections for
 *   plain HTTP and HTTPS alike.  The descriptor is closed only after
 *   free_context (the filter drops its reference to the bufferevent
 *   under it after its destructor ran), so a descriptor we remember is
 *   never one already reused by another connection.
 * - When the count reaches the cap, the bevcb disables evhttp's
 *   evconnlistener (evhttp_bound_socket_get_listener); libevent's accept
 *   loop stops as soon as its callback disabled the listener, and
 *   further clients wait in the kernel's backlog without holding one of
 *   our descriptors.  A closing connection enables it again.
 * - The bevcb does not see the address, so it makes the connection's
 *   timer active at once: it runs in the loop's next round, after evhttp
 *   has set the descriptor and before anything is read from it.  It then
 *   takes getpeername() through the token bucket and the per-address cap
 *   (netaddr_source, as the device listener).  A refused connection is
 *   shut down (shutdown(SHUT_RDWR)): evhttp reads EOF and frees it.
 * - The same timer is the deadline for the whole request, from accept
 *   until evhttp hands it over complete; evhttp's own timeout is only
 *   an idle timeout that each byte restarts.  At the deadline the
 *   connection is shut down the same way.
 * - One request per connection, and the close is ours: evhttp, when it
 *   closes a connection after a reply ("Connection: close"), frees it as
 *   soon as the reply has left the filter, and shuts the descriptor down
 *   while the reply still waits in the bufferevent under it.  So the
 *   request is marked keep-alive for evhttp, and once the bufferevent
 *   under the filter has written the reply (an evbuffer callback on its
 *   output) we shut the write side down; the client then closes, or the
 *   timer closes it a little later.  A second request on the connection
 *   is refused and the connection dropped (evhttp's 503 for it cannot
 *   reach a client whose write side is already shut: the client sees
 *   only the close).  Pages evhttp sends on
 *   its own with "Connection: close" (400, 413) cannot be kept alive
 *   that way: on plain HTTP the filter's output function writes them to
 *   the socket at once; over TLS such a page is lost and the client only
 *   sees the close (never a request a correct client makes).
 * - A filter moves its output down only from its output callback, which
 *   does nothing while writing is disabled, and evhttp enables writing
 *   after it has added a reply: an evbuffer callback on the filter's
 *   output flushes it one round later (http_guard_kick_cb).
 * - libevent 2.1.12's filter runs its callbacks on the bufferevent under
 *   it (be_filter_readcb, be_filter_writecb, be_filter_eventcb) without
 *   a reference on itself.  When evhttp frees the connection from
 *   within one (it does after each page it sends with "Connection:
 *   close": 400, 405, 413, 417, our 503), the filter's last reference
 *   goes there; libevent schedules its finalisation and deletes its
 *   timers, then the filter's output code carries on and puts its write
 *   timeout back (BEV_RESET_GENERIC_WRITE_TIMEOUT), and the filter is
 *   freed with that timer still in the event base's heap: the next timer
 *   operation writes to freed memory (SIGSEGV within a second of such
 *   requests on a plain listener).  libevent has done so since its fix
 *   for its issue #127 (2014, in 2.1.10) and still does in its master.
 *   So the bufferevent under the filter calls our wrappers, which hold
 *   a reference on the filter around the filter's own callbacks: its
 *   last reference goes after the filter is done with itself.
 * - evhttp's evconnlistener gets an error callback: on EMFILE, ENFILE,
 *   ENOBUFS or ENOMEM it pauses accepting for a second and logs once per
 *   interval (refuse_log.h), where libevent would print a line per
 *   attempt and spin.
 * - With http_limits.evict, the listener takes one connection over the
 *   cap: a newcomer's seat.  Once the newcomer passed the address checks
 *   (a connection they refuse takes nobody's place), another connection
 *   gives way (shutdown): one that is not being handled, whose request
 *   is not whole yet or was answered, never the newcomer itself.  Which
 *   one: within the IPv4 address or IPv6 /48 holding the most such
 *   connections, the source (an address or /64) holding the most, its
 *   oldest.  Only connections that could be closed count, so an office
 *   whose operators hold event streams does not give way before an
 *   attacker's many sources, and one attacker's /64s of a /48 give way
 *   as one.  The connections accepted in one burst are all checked
 *   before any of them makes its place: one not checked yet would not
 *   count, and a /48 whose burst it was would seem to hold fewer than
 *   it does.  The counts are made afresh per newcomer over the cap, in
 *   O(cap), in two arrays of the address slots' size.  When no
 *   connection can give way (all being answered), the newcomer keeps the
 *   seat and the listener stays off until one ends.  A client alone on
 *   its address that sends its request at once (the relay's webhook) is
 *   closed only when every place is held by other addresses and
 *   newcomers keep coming while its request is under way.  Without
 *   eviction, clients that hold every place keep all others in the
 *   backlog until the request deadline, and open new ones as the old
 *   ones are closed.
 * - evhttp bounds a request line, the headers and the body, but not
 *   the size line of a chunk (libevent 2.1.12, evhttp_handle_chunked_read
 *   reads it with evbuffer_readln and no length): hex digits without a
 *   line end pile up in its input until the deadline, and it scans them
 *   all again at every read.  So the guard bounds what a connection
 *   holds unparsed, in evhttp's input and in the bufferevent under it,
 *   to one whole request (http_guard_set_max_request), and shuts a
 *   connection that holds more.  A request within the limits never
 *   gets there: evhttp moves a body out of its input as it comes.
 * No private libevent structure is touched.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "http_guard.h"
#include "log.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "slotcount.h"
#include "util.h"
#include "xmalloc.h"

#define GUARD_PAUSE_MS 1000 /* after EMFILE and the like */
#define GUARD_LINGER_MS 2000 /* for the client to close after a reply */
#define GUARD_ADDR_SLOTS 4096
#define GUARD_RATE_SLOTS 16384
/* Until the program says (http_guard_set_max_request). */
#define GUARD_DEFAULT_MAX_HEADERS 8192
#define GUARD_DEFAULT_MAX_BODY 65536

enum guard_state {
	GUARD_NEW, /* not checked yet */
	GUARD_READING, /* within limits, request not complete */
	GUARD_HANDLED, /* request handed over */
	GUARD_CLOSING /* reply written, refused or past the deadline */
};

struct guard_conn {
	TAILQ_ENTRY(guard_conn) entry;
	struct http_guard *g;
	struct bufferevent *bev; /* the filter evhttp holds */
	struct bufferevent *under; /* socket or OpenSSL */
	struct evbuffer_cb_entry *out_cb; /* on under's output */
	struct evbuffer_cb_entry *reply_cb; /* on the filter's output */
	struct event *timer;
	struct event *kick;
	/* the filter's own callbacks on under, called with a reference */
	bufferevent_data_cb f_read, f_write;
	bufferevent_event_cb f_event;
	void *f_arg;
	evutil_socket_t fd;
	int64_t accepted_ms;
	size_t slot;
	size_t group; /* its IPv6 /48's place in the eviction counts, or slot */
	int has_slot;
	int replied; /* evhttp has passed the whole reply down */
	int broken; /* make_bev failed: a socket to shut down at once */
	int shut; /* shut down, on its way out */
	int fresh; /* admitted in a burst, its place not made yet */
	enum guard_state state;
};

struct http_guard {
	TAILQ_ENTRY(http_guard) entry;
	struct evhttp *http;
	struct evconnlistener *lev;
	struct evhttp_bound_socket *bound; /* lev's, for http_guard_unbind */
	struct http_guard_hooks hooks;
	struct http_limits lim;
	long cap;
	size_t max_held; /* unparsed input a connection may hold */
	http_guard_bev_fn make_bev;
	void *make_arg;
	http_guard_req_fn handler;
	void *arg;
	struct ratelimit *rate;
	struct slotcount *per_addr;
	struct event *resume_ev;
	TAILQ_HEAD(, guard_conn) conns;
	long nconns;
	long nshut; /* of nconns, shut and not yet let go by evhttp */
	/* With evict: scratch counts of closable connections, by source
	 * slot and by /48 group, zero between evictions. */
	unsigned *by_slot, *by_group;
	int paused, accepting, dead;
};

/* The guards, for the listener error callback, whose argument is the
 * evhttp and not ours. */
static TAILQ_HEAD(, http_guard) guards = TAILQ_HEAD_INITIALIZER(guards);

static void
http_guard_refused(struct http_guard *g, enum conn_refuse why,
    const char *detail)
{
	if (g->hooks.refused != NULL)
		g->hooks.refused(g->hooks.arg, why, detail);
}

static void
http_guard_accepting(struct http_guard *g)
{
	/* with evict, one seat over the cap: the newcomer's, whom another
	 * connection makes way for once it is admitted */
	int want = !g->dead && !g->paused &&
	    g->nconns < g->cap + (g->lim.evict ? 1 : 0);
	char detail[32];

	if (g->lev == NULL || want == g->accepting)
		return;
	g->accepting = want;
	if (want) {
		evconnlistener_enable(g->lev);
		return;
	}
	evconnlistener_disable(g->lev);
	/* With evict, a place is being made: http_guard_evict() logs. */
	if (!g->paused && !g->dead && !g->lim.evict) {
		snprintf(detail, sizeof(detail), "limit=%ld", g->cap);
		http_guard_refused(g, CONN_REFUSE_MAX_CONNECTIONS, detail);
	}
}

static void
http_guard_destroy(struct http_guard *g)
{
	ratelimit_free(g->rate);
	slotcount_free(g->per_addr);
	free(g->by_slot);
	free(g->by_group);
	free(g);
}

/* Stops the connection: evhttp reads EOF and frees it. */
static void
http_guard_shut(struct guard_conn *c)
{
	c->state = GUARD_CLOSING;
	if (!c->shut)
		c->g->nshut++;
	c->shut = 1;
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
}

/* Not being handled, not already on its way out: request incomplete
 * (GUARD_READING) or answered (GUARD_CLOSING after the reply). */
static int
http_guard_evictable(const struct guard_conn *c)
{
	return c->has_slot && !c->shut && c->fd >= 0 &&
	    (c->state == GUARD_READING || c->state == GUARD_CLOSING);
}

/* Counts the connections that could be closed, but the newcomer, by
 * source and by /48 (see the top).  O(cap), once per newcomer over the
 * cap. */
static void
http_guard_count(struct http_guard *g, const struct guard_conn *newcomer,
    int add)
{
	struct guard_conn *c;

	TAILQ_FOREACH(c, &g->conns, entry)
	if (c != newcomer && http_guard_evictable(c)) {
		g->by_slot[c->slot] = add ? g->by_slot[c->slot] + 1 : 0;
		g->by_group[c->group] = add ? g->by_group[c->group] + 1 : 0;
	}
}

/* The oldest closable connection of the source holding the most
 * closable ones within the IPv4 address or IPv6 /48 holding the most:
 * connections being answered (event streams among them) are no
 * reason to close the ones still reading from the same source, and an
 * attacker's many /64s of one /48 give way as one. */
static struct guard_conn *
http_guard_victim(struct http_guard *g, const struct guard_conn *newcomer)
{
	struct guard_conn *c, *victim = NULL;
	unsigned group_most = 0, most = 0;
	size_t group = 0;

	http_guard_count(g, newcomer, 1);
	TAILQ_FOREACH(c, &g->conns, entry)
	if (c != newcomer && http_guard_evictable(c) &&
	    g->by_group[c->group] > group_most) {
		group_most = g->by_group[c->group];
		group = c->group;
	}
	TAILQ_FOREACH(c, &g->conns, entry)
	if (c != newcomer && http_guard_evictable(c) && c->group == group &&
	    g->by_slot[c->slot] > most) {
		most = g->by_slot[c->slot];
		victim = c;
	}
	http_guard_count(g, newcomer, 0);
	return victim;
}

/* A newcomer, admitted, holds the seat over the cap (the listener
 * takes one more than the cap with evict, and no more): another
 * connection gives way for it.  When none can (all being answered),
 * the newcomer keeps the seat and the listener stays off until one
 * ends.  Never the newcomer itself, and never for a connection the
 * address checks refused. */
static void
http_guard_make_place(struct guard_conn *newcomer)
{
	struct http_guard *g = newcomer->g;
	struct guard_conn *victim;
	char detail[64];

	if (!g->lim.evict || g->nconns - g->nshut <= g->cap ||
	    (victim = http_guard_victim(g, newcomer)) == NULL)
		return;
	snprintf(detail, sizeof(detail), "limit=%ld closed_for_newcomer=1",
	    g->cap);
	http_guard_refused(g, CONN_REFUSE_MAX_CONNECTIONS, detail);
	http_guard_shut(victim);
}

static int
http_guard_admit(struct guard_conn *c)
{
	struct http_guard *g = c->g;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned char key[NETADDR_SOURCE_MAX];
	size_t klen;
	char detail[32];

	c->fd = bufferevent_getfd(c->bev);
	if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &len) != 0)
		return 0; /* already gone */
	if (c->broken) { /* no TLS for it: never plain HTTP instead */
		http_guard_refused(g, CONN_REFUSE_NO_DESCRIPTORS,
		    "error=\"cannot make a TLS session\"");
		return 0;
	}
	klen = netaddr_source((struct sockaddr *)&ss, key);
	if (!ratelimit_take(g->rate, key, klen, monotonic_ms())) {
		snprintf(detail, sizeof(detail), "conn_rate=%ld/s",
		    g->lim.conn_rate);
		http_guard_refused(g, CONN_REFUSE_RATE_LIMITED, detail);
		return 0;
	}
	c->slot = slotcount_slot(g->per_addr, key, klen);
	/* an IPv6 /64's first 6 bytes: its /48 (a 6-byte key, apart) */
	c->group = klen == NETADDR_SOURCE_MAX
	    ? slotcount_slot(g->per_addr, key, 6)
	    : c->slot;
	if (!slotcount_take(g->per_addr, c->slot,
	        (unsigned)g->lim.max_per_addr)) {
		snprintf(detail, sizeof(detail), "limit=%ld",
		    g->lim.max_per_addr);
		http_guard_refused(g, CONN_REFUSE_PER_ADDRESS, detail);
		return 0;
	}
	c->has_slot = 1;
	return 1;
}

/* The address check, then the request deadline: 1, or 0 when refused
 * (shut down). */
static int
http_guard_start(struct guard_conn *c)
{
	int64_t left = c->g->lim.request_timeout * 1000 -
	    (monotonic_ms() - c->accepted_ms);
	struct timeval tv;

	if (!http_guard_admit(c)) {
		http_guard_shut(c);
		return 0;
	}
	c->state = GUARD_READING;
	if (left < 0)
		left = 0;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	return 1;
}

/* Right after accept.  With evict, the others accepted in the same burst
 * are checked now too, before any place is made: one not checked yet has
 * no source and is not counted, so the first of an attacker's burst from
 * one /48 found it holding fewer than it does and closed another
 * address's connection.  Then each one admitted gets its place. */
static void
http_guard_check(struct guard_conn *c)
{
	struct http_guard *g = c->g;
	struct guard_conn *o;

	if (!g->lim.evict) {
		(void)http_guard_start(c);
		return;
	}
	TAILQ_FOREACH(o, &g->conns, entry)
	if (o->state == GUARD_NEW &&
	    (o == c || bufferevent_getfd(o->bev) >= 0)) {
		if (o != c) /* checked here, not in its own turn */
			evtimer_del(o->timer);
		o->fresh = http_guard_start(o);
	}
	TAILQ_FOREACH(o, &g->conns, entry)
	if (o->fresh) {
		o->fresh = 0;
		http_guard_make_place(o);
	}
}

static void
http_guard_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct guard_conn *c = arg;
	char detail[32];

	(void)fd;
	(void)what;
	switch (c->state) {
	case GUARD_NEW:
		http_guard_check(c);
		break;
	case GUARD_READING:
		snprintf(detail, sizeof(detail), "limit=%lds",
		    c->g->lim.request_timeout);
		http_guard_refused(c->g, CONN_REFUSE_DEADLINE, detail);
		http_guard_shut(c);
		break;
	case GUARD_HANDLED: /* waiting for the handler: not a client's doing */
		break;
	case GUARD_CLOSING: /* the client did not close after the reply */
		http_guard_shut(c);
		break;
	}
}

/* The reply has reached the socket: end the connection (see top). */
static void
http_guard_reply_gone(struct guard_conn *c)
{
	struct timeval tv = {GUARD_LINGER_MS / 1000, 0};

	c->state = GUARD_CLOSING;
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_WR);
	evtimer_add(c->timer, &tv);
}

static void
http_guard_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct guard_conn *c = arg;

	(void)info;
	if (c->replied && c->state == GUARD_HANDLED &&
	    evbuffer_get_length(buf) == 0)
		http_guard_reply_gone(c);
}

static void
http_guard_complete_cb(struct evhttp_request *req, void *arg)
{
	struct guard_conn *c = arg;

	(void)req;
	c->replied = 1;
	if (c->state == GUARD_HANDLED &&
	    evbuffer_get_length(bufferevent_get_output(c->under)) == 0)
		http_guard_reply_gone(c);
}

/* A filter bufferevent moves its output down only from its own output
 * callback, which does nothing while writing is disabled, and evhttp
 * adds a reply first and enables writing after; so nothing would move
 * it.  We flush it one round later, as long as evhttp still holds the
 * bufferevent (bufferevent_free clears the callbacks). */
static void
http_guard_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct guard_conn *c = arg;
	bufferevent_event_cb eventcb = NULL;

	(void)fd;
	(void)what;
	bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
	if (eventcb != NULL)
		bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
}

static void
http_guard_reply_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct guard_conn *c = arg;

	(void)buf;
	if (info->n_added > 0)
		event_active(c->kick, EV_TIMEOUT, 1);
}

/* A reply evhttp sends with "Connection: close" (its own error pages:
 * 400, 413...) is shut down as soon as it has left the filter.  On plain
 * HTTP we write it to the socket right here, so it is in the kernel by
 * then; over TLS only the bufferevent under us can write, so such a page
 * is lost and the client sees the connection close. */
static enum bufferevent_filter_result
http_guard_out_filter(struct evbuffer *src, struct evbuffer *dst,
    ev_ssize_t limit, enum bufferevent_flush_mode mode, void *arg)
{
	struct guard_conn *c = arg;

	(void)limit;
	(void)mode;
	evbuffer_add_buffer(dst, src);
	if (c->g->make_bev == NULL && c->fd >= 0)
		evbuffer_write(dst, c->fd);
	return BEV_OK;
}

/* What evhttp left unparsed, and what waits under the filter: more than
 * one whole request is not a request (see the top). */
static void
http_guard_held_check(struct guard_conn *c)
{
	size_t held = evbuffer_get_length(bufferevent_get_input(c->bev)) +
	    evbuffer_get_length(bufferevent_get_input(c->under));
	char detail[40];

	if (c->shut || held <= c->g->max_held)
		return;
	snprintf(detail, sizeof(detail), "limit=%zu", c->g->max_held);
	http_guard_refused(c->g, CONN_REFUSE_TOO_LARGE, detail);
	http_guard_shut(c);
	/* nothing more is read: the shutdown brings evhttp its EOF */
	evbuffer_drain(bufferevent_get_input(c->under),
	    evbuffer_get_length(bufferevent_get_input(c->under)));
}

/* The filter's callbacks on the bufferevent under it, each with a
 * reference on the filter (see the top).  After the reference is
 * dropped the connection may be on its way out: nothing is touched. */
static void
http_guard_under_read(struct bufferevent *under, void *arg)
{
	struct guard_conn *c = arg;
	struct bufferevent *bev = c->bev;

	bufferevent_incref(bev);
	c->f_read(under, c->f_arg);
	http_guard_held_check(c);
	bufferevent_decref(bev);
}

static void
http_guard_under_write(struct bufferevent *under, void *arg)
{
	struct guard_conn *c = arg;
	struct bufferevent *bev = c->bev;

	bufferevent_incref(bev);
	c->f_write(under, c->f_arg);
	bufferevent_decref(bev);
}

static void
http_guard_under_event(struct bufferevent *under, short what, void *arg)
{
	struct guard_conn *c = arg;
	struct bufferevent *bev = c->bev;

	bufferevent_incref(bev);
	c->f_event(under, what, c->f_arg);
	bufferevent_decref(bev);
}

/* free_context of the filter: evhttp has let the connection go. */
static void
http_guard_conn_gone(void *arg)
{
	struct guard_conn *c = arg;
	struct http_guard *g = c->g;

	evbuffer_remove_cb_entry(bufferevent_get_output(c->under), c->out_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->reply_cb);
	event_free(c->timer);
	event_free(c->kick);
	TAILQ_REMOVE(&g->conns, c, entry);
	if (c->has_slot)
		slotcount_give(g->per_addr, c->slot);
	if (c->shut)
		g->nshut--;
	g->nconns--;
	free(c);
	if (g->dead && TAILQ_EMPTY(&g->conns))
		http_guard_destroy(g);
	else
		http_guard_accepting(g);
}

static struct bufferevent *
http_guard_bev_cb(struct event_base *base, void *arg)
{
	struct http_guard *g = arg;
	struct bufferevent *under;
	struct guard_conn *c;
	int broken = 0;

	/* Were NULL returned, evhttp would make a plain socket bufferevent
	 * itself, and speak plain HTTP on the TLS port, unguarded. */
	under = g->make_bev != NULL ? g->make_bev(base, g->make_arg) : NULL;
	if (under == NULL) {
		broken = g->make_bev != NULL;
		under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (under == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->broken = broken;
	c->g = g;
	c->fd = -1;
	c->bev = bufferevent_filter_new(under, NULL, http_guard_out_filter,
	    BEV_OPT_CLOSE_ON_FREE, http_guard_conn_gone, c);
	if (c->bev == NULL) {
		bufferevent_free(under);
		free(c);
		return NULL;
	}
	c->under = under;
	bufferevent_getcb(under, &c->f_read, &c->f_write, &c->f_event,
	    &c->f_arg);
	bufferevent_setcb(under, http_guard_under_read, http_guard_under_write,
	    http_guard_under_event, c);
	c->accepted_ms = monotonic_ms();
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(under),
	    http_guard_out_cb, c);
	c->reply_cb = evbuffer_add_cb(bufferevent_get_output(c->bev),
	    http_guard_reply_cb, c);
	c->timer = evtimer_new(base, http_guard_timer_cb, c);
	c->kick = event_new(base, -1, 0, http_guard_kick_cb, c);
	TAILQ_INSERT_TAIL(&g->conns, c, entry);
	g->nconns++;
	/* Runs after evhttp has set the descriptor, before any read. */
	event_active(c->timer, EV_TIMEOUT, 1);
	http_guard_accepting(g);
	return c->bev;
}

static struct guard_conn *
http_guard_find(struct http_guard *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct guard_conn *c;

	if (evcon == NULL)
		return NULL;
	bev = evhttp_connection_get_bufferevent(evcon);
	TAILQ_FOREACH(c, &g->conns, entry)
	if (c->bev == bev)
		return c;
	return NULL;
}

static void
http_guard_request_cb(struct evhttp_request *req, void *arg)
{
	struct http_guard *g = arg;
	struct guard_conn *c = http_guard_find(g, req);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);

	if (c != NULL && c->state == GUARD_NEW)
		http_guard_check(c);
	if (c != NULL && c->state != GUARD_READING) {
		/* Refused, too late, or a second request. */
		http_guard_shut(c);
		evhttp_send_error(req, 503, "one request per connection");
		return;
	}
	if (c != NULL) {
		c->state = GUARD_HANDLED;
		evtimer_del(c->timer);
		/* evhttp must not close on its own (see the top). */
		evhttp_remove_header(in, "Connection");
		evhttp_add_header(in, "Connection", "keep-alive");
		evhttp_request_set_on_complete_cb(req, http_guard_complete_cb,
		    c);
	}
	g->handler(req, g->arg);
}

size_t
http_guard_unsent(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev, *under;
	size_t n;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(bev));
	if ((under = bufferevent_get_underlying(bev)) != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

static void
http_guard_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_guard *g = arg;

	(void)fd;
	(void)what;
	g->paused = 0;
	http_guard_accepting(g);
}

static void
http_guard_error_cb(struct evconnlistener *lev, void *arg)
{
	struct timeval tv = {GUARD_PAUSE_MS / 1000, 0};
	int err = EVUTIL_SOCKET_ERROR();
	struct http_guard *g;
	char detail[64];

	(void)arg;
	TAILQ_FOREACH(g, &guards, entry)
	if (g->lev == lev)
		break;
	if (g == NULL) {
		evconnlistener_disable(lev);
		return;
	}
	/* Whatever the error, retrying at once would only spin. */
	snprintf(detail, sizeof(detail), "error=\"%s\" pause=%dms",
	    strerror(err), GUARD_PAUSE_MS);
	http_guard_refused(g, CONN_REFUSE_NO_DESCRIPTORS, detail);
	g->paused = 1;
	http_guard_accepting(g);
	evtimer_add(g->resume_ev, &tv);
}

long
http_guard_fd_share(long reserve, long nlisteners)
{
	struct rlimit rl;
	long share;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return LONG_MAX;
	share = ((long)rl.rlim_cur - reserve) / nlisteners;
	return share < 8 ? 8 : share;
}

struct http_guard *
http_guard_new(struct event_base *base, struct evhttp *http,
    const struct http_limits *lim, const struct http_guard_hooks *hooks,
    http_guard_bev_fn make_bev, void *make_arg, http_guard_req_fn handler,
    void *arg)
{
	struct http_guard *g = xcalloc(1, sizeof(*g));

	g->http = http;
	g->hooks = *hooks;
	g->lim = *lim;
	g->cap =
	    lim->max_conns < hooks->fd_cap ? lim->max_conns : hooks->fd_cap;
	g->make_bev = make_bev;
	g->make_arg = make_arg;
	g->handler = handler;
	g->arg = arg;
	g->rate = ratelimit_new((double)lim->conn_rate, (double)lim->conn_burst,
	    GUARD_RATE_SLOTS);
	g->per_addr = slotcount_new(GUARD_ADDR_SLOTS);
	if (lim->evict) {
		g->by_slot = xcalloc(GUARD_ADDR_SLOTS, sizeof(*g->by_slot));
		g->by_group = xcalloc(GUARD_ADDR_SLOTS, sizeof(*g->by_group));
		/* the newcomer's seat over the cap within the budget too */
		if (g->cap >= hooks->fd_cap && g->cap > 1)
			g->cap = hooks->fd_cap - 1;
	}
	http_guard_set_max_request(g, GUARD_DEFAULT_MAX_HEADERS,
	    GUARD_DEFAULT_MAX_BODY);
	g->resume_ev = evtimer_new(base, http_guard_resume_cb, g);
	TAILQ_INIT(&g->conns);
	evhttp_set_bevcb(http, http_guard_bev_cb, g);
	evhttp_set_gencb(http, http_guard_request_cb, g);
	TAILQ_INSERT_TAIL(&guards, g, entry);
	return g;
}

void
http_guard_set_max_request(struct http_guard *g, size_t max_headers,
    size_t max_body)
{
	evhttp_set_max_headers_size(g->http, (ev_ssize_t)max_headers);
	evhttp_set_max_body_size(g->http, (ev_ssize_t)max_body);
	g->max_held = max_headers + max_body;
}

struct evhttp_bound_socket *
http_guard_bind(struct http_guard *g, const char *host, int port)
{
	struct evhttp_bound_socket *bound;

	bound =
	    evhttp_bind_socket_with_handle(g->http, host, (ev_uint16_t)port);
	if (bound == NULL)
		return NULL;
	g->bound = bound;
	g->lev = evhttp_bound_socket_get_listener(bound);
	g->accepting = 1;
	evconnlistener_set_error_cb(g->lev, http_guard_error_cb);
	return bound;
}

void
http_guard_unbind(struct http_guard *g)
{
	if (g == NULL || g->bound == NULL)
		return;
	/* frees lev and closes its socket: newcomers are refused by the
	 * kernel, and the connections already open are left alone */
	evhttp_del_accept_socket(g->http, g->bound);
	g->bound = NULL;
	g->lev = NULL;
	g->accepting = 0;
}

void
http_guard_free(struct http_guard *g)
{
	if (g == NULL)
		return;
	TAILQ_REMOVE(&guards, g, entry);
	event_free(g->resume_ev);
	g->dead = 1;
	g->lev = NULL; /* evhttp_free frees it */
	g->bound = NULL;
	if (TAILQ_EMPTY(&g->conns))
		http_guard_destroy(g);
}
