/*
 * Counting the jobs a stop waits for (stopjobs.h), and that wait: the
 * loop goes on meanwhile, so their answers come and are recorded.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "evtimer_ms.h"
#include "log.h"
#include "relay.h"
#include "stopjobs.h"
#include "xmalloc.h"

struct stopjobs {
	size_t n; /* pending */
	struct event *bound_ev; /* STOPJOBS_WAIT_MS after the drain began */
	void (*done)(void *); /* stopjobs_drain()'s, until called */
	void *done_arg;
};

static void
stopjobs_finish(struct stopjobs *s)
{
	void (*done)(void *) = s->done;

	s->done = NULL;
	evtimer_del(s->bound_ev);
	if (done != NULL)
		done(s->done_arg);
}

static void
stopjobs_bound_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stopjobs *s = arg;

	(void)fd;
	(void)what;
	log_warnx("stopping: pending=%zu alerts, cancels, check-ins, "
	          "location updates, supervision ends or "
	          "acknowledgements (or timers and deadline writes) had no "
	          "answer from Redis within %d ms; "
	          "their outcome is not known",
	    s->n, STOPJOBS_WAIT_MS);
	stopjobs_finish(s);
}

struct stopjobs *
stopjobs_new(struct relay *relay)
{
	struct stopjobs *s = xcalloc(1, sizeof(*s));

	if ((s->bound_ev = evtimer_new(relay->base, stopjobs_bound_cb, s)) ==
	    NULL)
		log_fatalx("exiting: cannot make the stop's timer");
	return s;
}

void
stopjobs_free(struct stopjobs *s)
{
	if (s == NULL)
		return;
	event_free(s->bound_ev);
	free(s);
}

void
stopjobs_begin(struct stopjobs *s)
{
	if (s != NULL)
		s->n++;
}

void
stopjobs_end(struct stopjobs *s)
{
	if (s == NULL)
		return;
	if (s->n == 0) {
		/* one end too many would hide one missing elsewhere */
		log_warnx("stopping: a job ended that was never counted");
		return;
	}
	if (--s->n == 0 && s->done != NULL)
		stopjobs_finish(s);
}

void
stopjobs_drain(struct stopjobs *s, void (*done)(void *), void *arg)
{
	s->done = done;
	s->done_arg = arg;
	if (s->n == 0) {
		stopjobs_finish(s);
		return;
	}
	log_info("stopping: pending=%zu alerts, cancels, check-ins, "
	         "location updates, supervision ends or "
	         "acknowledgements (or timers and deadline writes) wait for "
	         "Redis; their answer is awaited up "
	         "to %d ms",
	    s->n, STOPJOBS_WAIT_MS);
	evtimer_add_ms(s->bound_ev, STOPJOBS_WAIT_MS);
}

void
stopjobs_abandon(struct stopjobs *s)
{
	if (s == NULL)
		return;
	s->done = NULL;
	evtimer_del(s->bound_ev);
}
