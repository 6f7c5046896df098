/*
 * The operators' event streams (console_events.h), on evhttp's chunked
 * replies.  A stream ends when the page goes (the connection's close
 * callback, also when the kernel gave up on a page that vanished:
 * CONSOLE_EVENTS_USER_TIMEOUT_MS) or at shutdown.  Each is tied to the session
 * it was opened with: asked at every heartbeat and before every alert event,
 * and told "expired" once that session has ended.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "console.h"
#include "console_auth.h"
#include "console_events.h"
#include "console_metrics.h"
#include "evtimer_ms.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

/* A page that is gone stops being written to when its connection
 * closes; the timeout only catches a peer that stopped reading. */
#define CONSOLE_EVENTS_TIMEOUT_S 3600
/*
 * A page whose packets stopped arriving without a close (a NAT or
 * firewall that dropped its state, a change of Wi-Fi or VPN) leaves its
 * stream open here until TCP gives up retransmitting (about 15 minutes
 * with Linux's tcp_retries2), counting against
 * max_event_streams_per_address meanwhile: an office behind one address
 * would soon be refused its pages' new streams.  TCP_USER_TIMEOUT makes
 * the kernel end a connection whose data stays unacknowledged this long,
 * and every heartbeat is such data: the write then fails and
 * console_events_closed frees the slot.  Six heartbeats: a live page
 * acknowledges each within its round trip, a loss of a few seconds (a
 * Wi-Fi roam) is retransmitted and survives, and the page's own
 * watchdog (stream.js: two heartbeats) has long given the stream up and
 * opened another.  Linux applies it to a zero window too, which a page
 * reaches only after hours of not reading its few bytes a heartbeat.
 */
#define CONSOLE_EVENTS_USER_TIMEOUT_MS (6 * CONSOLE_EVENTS_HEARTBEAT_MS)
#define CONSOLE_EVENTS_LOG_INTERVAL_MS 10000

struct console_events_client {
	struct console_events *e;
	struct evhttp_request *req;
	char peer[64]; /* its address, as evhttp gives it */
	/* The session's id while it lives (a secret: never logged, wiped
	 * once it ended); expired: it ended, the page was told. */
	char sid[CONSOLE_TOKEN_HEX + 8];
	int expired;
	int64_t opened_ms; /* for the close's log line */
};

struct console_events {
	struct console *console;
	struct event *heartbeat;
	long max, per_addr;
	struct console_events_client **c; /* max slots */
	unsigned long long refused; /* since the last log line */
	int64_t refused_ms; /* when that was; 0: never */
};

static void
console_events_send(struct console_events_client *cl, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		return;
	evbuffer_add(b, text, strlen(text));
	evhttp_send_reply_chunk(cl->req, b);
	evbuffer_free(b);
}

static void
console_events_all(struct console_events *e, const char *text)
{
	size_t i;

	for (i = 0; i < (size_t)e->max; i++)
		if (e->c[i] != NULL)
			console_events_send(e->c[i], text);
}

/* "expired" (or "waiting" later on) with n, how many alerts wait for
 * a person (-1: unknown): a count only, so the page can ring and say
 * "log in again" without being shown anything of the alerts. */
static void
console_events_waiting(struct console_events_client *cl, const char *event,
    long long n)
{
	char num[24] = "null", text[96];

	if (n >= 0)
		snprintf(num, sizeof(num), "%lld", n);
	snprintf(text, sizeof(text), "event: %s\ndata: {\"waiting\":%s}\n\n",
	    event, num);
	console_events_send(cl, text);
}

/* Streams whose session has ended (logged out, idle, password changed)
 * get "expired" once; from then on no alert id reaches them.  The count
 * is read once, when a stream needs it. */
static void
console_events_check(struct console_events *e)
{
	struct console_events_client *cl;
	long long n = -2;
	size_t i;

	for (i = 0; i < (size_t)e->max; i++) {
		if ((cl = e->c[i]) == NULL || cl->expired ||
		    console_auth_alive(e->console, cl->sid) == 0)
			continue;
		cl->expired = 1;
		sodium_memzero(cl->sid, sizeof(cl->sid));
		if (n == -2)
			n = console_metrics_waiting(e->console);
		console_events_waiting(cl, "expired", n);
		log_debug("event stream: its session ended");
	}
}

static void
console_events_beat(evutil_socket_t fd, short what, void *arg)
{
	struct console_events *e = arg;

	(void)fd;
	(void)what;
	console_events_check(e);
	console_events_all(e, "event: heartbeat\ndata: {}\n\n");
	evtimer_add_ms(e->heartbeat, CONSOLE_EVENTS_HEARTBEAT_MS);
}

struct console_events *
console_events_new(struct console *c, struct event_base *base, long max,
    long per_addr)
{
	struct console_events *e = xcalloc(1, sizeof(*e));

	e->console = c;
	e->max = max;
	e->per_addr = per_addr;
	e->c = xcalloc((size_t)max, sizeof(*e->c));
	if ((e->heartbeat = evtimer_new(base, console_events_beat, e)) == NULL)
		log_fatalx("cannot make the heartbeat timer");
	evtimer_add_ms(e->heartbeat, CONSOLE_EVENTS_HEARTBEAT_MS);
	return e;
}

/* The page went, or the kernel ended its connection when it stopped
 * acknowledging (CONSOLE_EVENTS_USER_TIMEOUT_MS).  libevent has detached the
 * unfinished request from its connection and leaves it to us: ending it now
 * frees it. */
static void
console_events_closed(struct evhttp_connection *conn, void *arg)
{
	struct console_events_client *cl = arg;
	size_t i;

	(void)conn;
	evhttp_send_reply_end(cl->req);
	for (i = 0; i < (size_t)cl->e->max; i++)
		if (cl->e->c[i] == cl)
			cl->e->c[i] = NULL;
	log_debug("event stream closed after %lld s",
	    (long long)((monotonic_ms() - cl->opened_ms) / 1000));
	sodium_memzero(cl->sid, sizeof(cl->sid));
	free(cl);
}

/* One log line per interval at most, with the count since the last:
 * whoever asks for streams in a loop gets a few lines, not thousands. */
static void
console_events_refused(struct console_events *e)
{
	int64_t now = monotonic_ms();

	e->refused++;
	if (e->refused_ms != 0 &&
	    now - e->refused_ms < CONSOLE_EVENTS_LOG_INTERVAL_MS)
		return;
	log_warnx("refused event streams: count=%llu max_event_streams=%ld "
	          "max_event_streams_per_address=%ld (one line per %d s at "
	          "most)",
	    e->refused, e->max, e->per_addr,
	    CONSOLE_EVENTS_LOG_INTERVAL_MS / 1000);
	e->refused = 0;
	e->refused_ms = now;
}

/* 503 as an ordinary reply, closed by http_guard once it is on the
 * wire, like every other refusal of the guard's.  (evhttp_send_error()
 * here once crashed the console through libevent 2.1.12's filter
 * bufferevent; http_guard.c now holds the filter across its callbacks.)
 */
static void
console_events_refuse(struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (b != NULL)
		evbuffer_add_printf(b, "too many event streams\n");
	/* not the stream's type, set before we knew */
	evhttp_remove_header(evhttp_request_get_output_headers(req),
	    "Content-Type");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	evhttp_send_reply(req, 503, "Too many event streams", b);
	if (b != NULL)
		evbuffer_free(b);
}

/* Not fatal when refused (not TCP): the stream is then only freed when
 * TCP gives up or at CONSOLE_EVENTS_TIMEOUT_S, as before. */
static void
console_events_user_timeout(struct evhttp_connection *conn)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	unsigned int ms = CONSOLE_EVENTS_USER_TIMEOUT_MS;

	if (fd >= 0 &&
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)) ==
	        -1)
		log_debug("event stream: TCP_USER_TIMEOUT: %s",
		    strerror(errno));
}

/* A free slot, or -1 when max are open, or per_addr from peer. */
static long
console_events_slot(struct console_events *e, const char *peer)
{
	long i, free_slot = -1, same = 0;

	for (i = 0; i < e->max; i++)
		if (e->c[i] == NULL) {
			if (free_slot < 0)
				free_slot = i;
		} else if (strcmp(e->c[i]->peer, peer) == 0)
			same++;
	return same < e->per_addr ? free_slot : -1;
}

void
console_events_open(struct console_events *e, struct evhttp_request *req,
    const char *sid)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct console_events_client *cl;
	char *peer = NULL;
	ev_uint16_t port;
	long slot = -1;

	if (conn != NULL) {
		evhttp_connection_get_peer(conn, &peer, &port);
		slot = console_events_slot(e, peer != NULL ? peer : "");
	}
	if (slot < 0) {
		console_events_refused(e);
		console_events_refuse(req);
		return;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->e = e;
	cl->req = req;
	snprintf(cl->peer, sizeof(cl->peer), "%s", peer != NULL ? peer : "");
	snprintf(cl->sid, sizeof(cl->sid), "%s", sid);
	cl->opened_ms = monotonic_ms();
	e->c[slot] = cl;
	evhttp_connection_set_timeout(conn, CONSOLE_EVENTS_TIMEOUT_S);
	console_events_user_timeout(conn);
	console_http_on_close(req, console_events_closed, cl);
	evhttp_send_reply_start(req, 200, "OK");
	/* The page reconnects after 2 s when the stream breaks. */
	console_events_send(cl, "retry: 2000\nevent: heartbeat\ndata: {}\n\n");
}

void
console_events_alert(struct console_events *e, const char *alert_id)
{
	char text[128];
	long long n = -2;
	size_t i;

	console_events_check(e);
	snprintf(text, sizeof(text), "event: alerts\ndata: \"%s\"\n\n",
	    alert_id);
	for (i = 0; i < (size_t)e->max; i++) {
		if (e->c[i] == NULL)
			continue;
		if (!e->c[i]->expired) {
			console_events_send(e->c[i], text);
			continue;
		}
		if (n == -2)
			n = console_metrics_waiting(e->console);
		console_events_waiting(e->c[i], "waiting", n);
	}
}

void
console_events_free(struct console_events *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < (size_t)e->max; i++) {
		if (e->c[i] == NULL)
			continue;
		console_http_on_close(e->c[i]->req, NULL, NULL);
		evhttp_send_reply_end(e->c[i]->req);
		sodium_memzero(e->c[i]->sid, sizeof(e->c[i]->sid));
		free(e->c[i]);
	}
	event_free(e->heartbeat);
	free(e->c);
	free(e);
}
