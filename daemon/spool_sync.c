/*
 * The spool's helper thread (spool_sync.h): it waits for a descriptor,
 * fdatasyncs it and writes the result, one int, to a pipe.  One sync at
 * a time, so the pipe never holds more than one result and the thread's
 * write never blocks.  The thread logs nothing: the loop does, from the
 * result.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "spool_sync.h"
#include "xmalloc.h"

struct spool_sync {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd; /* under mu: to sync next, or -1 */
	int stop; /* under mu */
	int started; /* the thread runs (started after the workers forked) */
	int running; /* loop side: asked, result not yet read */
	int pipe[2];
	struct event *ev;
	spool_sync_cb cb;
	void *arg;
};

static void *
spool_sync_thread(void *arg)
{
	struct spool_sync *s = arg;
	int fd, err;

	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->fd == -1 && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		fd = s->fd;
		s->fd = -1;
		pthread_mutex_unlock(&s->mu);
		if (fd == -1) /* stopped, nothing asked */
			return NULL;
		err = fdatasync(fd) == 0 ? 0 : errno;
		while (write(s->pipe[1], &err, sizeof(err)) == -1 &&
		    errno == EINTR)
			;
	}
}

/* The result, or -1 when none is there yet. */
static int
spool_sync_result(struct spool_sync *s)
{
	int err;

	if (read(s->pipe[0], &err, sizeof(err)) != (ssize_t)sizeof(err))
		return -1;
	s->running = 0;
	return err;
}

static void
spool_sync_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spool_sync *s = arg;
	int err;

	(void)fd;
	(void)what;
	if ((err = spool_sync_result(s)) >= 0)
		s->cb(err, s->arg);
}

struct spool_sync *
spool_sync_new(struct event_base *base, const char *path, spool_sync_cb cb,
    void *arg)
{
	struct spool_sync *s = xcalloc(1, sizeof(*s));

	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_warn("spool %s: a pipe for its syncs", path);
		free(s);
		return NULL;
	}
	s->fd = -1;
	s->cb = cb;
	s->arg = arg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->ev = event_new(base, s->pipe[0], EV_READ | EV_PERSIST,
	    spool_sync_read_cb, s);
	event_add(s->ev, NULL);
	return s;
}

/* Threads do not survive fork(): started at the first sync.  Signals
 * stay with the loop's thread (libevent handles them there). */
static void
spool_sync_thread_start(struct spool_sync *s)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = pthread_create(&s->thread, NULL, spool_sync_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (errno != 0)
		log_fatal("exiting: spool: cannot start its sync thread");
	s->started = 1;
}

void
spool_sync_start(struct spool_sync *s, int fd)
{
	if (!s->started)
		spool_sync_thread_start(s);
	s->running = 1;
	pthread_mutex_lock(&s->mu);
	s->fd = fd;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int
spool_sync_running(const struct spool_sync *s)
{
	return s->running;
}

int
spool_sync_close(struct spool_sync *s)
{
	int err = 0;

	if (s == NULL)
		return 0;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		/* a sync under way ends first: what it covers is answered
		 * by nobody yet, but it reaches the disk before the exit */
		pthread_join(s->thread, NULL);
	}
	if (s->running && (err = spool_sync_result(s)) < 0)
		err = EIO; /* cannot be: the thread wrote it before ending */
	event_free(s->ev);
	close(s->pipe[0]);
	close(s->pipe[1]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	return err;
}
