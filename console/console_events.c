/*
 * The operators' event streams (console_events.h), on evhttp's chunked
 * replies.  A stream ends when the page goes (the connection's close
 * callback) or at shutdown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "console_events.h"
#include "evtimer_ms.h"
#include "log.h"
#include "xmalloc.h"

/* A page that is gone stops being written to when its connection
 * closes; the timeout only catches a peer that stopped reading. */
#define CONSOLE_EVENTS_TIMEOUT_S 3600

struct console_events_client {
	struct console_events *e;
	struct evhttp_request *req;
};

struct console_events {
	struct event *heartbeat;
	struct console_events_client *c[CONSOLE_EVENTS_MAX];
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

	for (i = 0; i < CONSOLE_EVENTS_MAX; i++)
		if (e->c[i] != NULL)
			console_events_send(e->c[i], text);
}

static void
console_events_beat(evutil_socket_t fd, short what, void *arg)
{
	struct console_events *e = arg;

	(void)fd;
	(void)what;
	console_events_all(e, "event: heartbeat\ndata: {}\n\n");
	evtimer_add_ms(e->heartbeat, CONSOLE_EVENTS_HEARTBEAT_MS);
}

struct console_events *
console_events_new(struct event_base *base)
{
	struct console_events *e = xcalloc(1, sizeof(*e));

	if ((e->heartbeat = evtimer_new(base, console_events_beat, e)) == NULL)
		log_fatalx("cannot make the heartbeat timer");
	evtimer_add_ms(e->heartbeat, CONSOLE_EVENTS_HEARTBEAT_MS);
	return e;
}

/* The page went.  libevent has detached the unfinished request from its
 * connection and leaves it to us: ending it now frees it. */
static void
console_events_closed(struct evhttp_connection *conn, void *arg)
{
	struct console_events_client *cl = arg;
	size_t i;

	(void)conn;
	evhttp_send_reply_end(cl->req);
	for (i = 0; i < CONSOLE_EVENTS_MAX; i++)
		if (cl->e->c[i] == cl)
			cl->e->c[i] = NULL;
	free(cl);
	log_debug("event stream closed");
}

static int
console_events_slot(struct console_events *e)
{
	int i;

	for (i = 0; i < CONSOLE_EVENTS_MAX; i++)
		if (e->c[i] == NULL)
			return i;
	return -1;
}

void
console_events_open(struct console_events *e, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct console_events_client *cl;
	int slot = console_events_slot(e);

	if (slot < 0 || conn == NULL) {
		log_warnx("refused event stream: %d open already",
		    CONSOLE_EVENTS_MAX);
		evhttp_send_error(req, 503, "Too many event streams");
		return;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->e = e;
	cl->req = req;
	e->c[slot] = cl;
	evhttp_connection_set_timeout(conn, CONSOLE_EVENTS_TIMEOUT_S);
	evhttp_connection_set_closecb(conn, console_events_closed, cl);
	evhttp_send_reply_start(req, 200, "OK");
	/* The page reconnects after 2 s when the stream breaks. */
	console_events_send(cl, "retry: 2000\nevent: heartbeat\ndata: {}\n\n");
}

void
console_events_alert(struct console_events *e, const char *alert_id)
{
	char text[128];

	snprintf(text, sizeof(text), "event: alerts\ndata: \"%s\"\n\n",
	    alert_id);
	console_events_all(e, text);
}

void
console_events_free(struct console_events *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < CONSOLE_EVENTS_MAX; i++) {
		if (e->c[i] == NULL)
			continue;
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		                                  e->c[i]->req),
		    NULL, NULL);
		evhttp_send_reply_end(e->c[i]->req);
		free(e->c[i]);
	}
	event_free(e->heartbeat);
	free(e);
}
