/*
 * ar_cancel's PIN check off the caller's loop: Argon2id is slow on
 * purpose (four hashes, every time, so that the time says nothing about
 * which PIN was typed, nor whether the PINs were changed under duress:
 * client/pinfile_check.c), so it runs on a thread of its own and its answer
 * comes back to the loop through a pipe, where the cancel goes on.  One
 * thread per check, not a pool as console/console_pwcheck.c keeps: a
 * device cancels rarely, and the library must not leave threads behind.
 * Only libsodium runs on the thread (no jansson: its allocator is
 * swapped process-wide while an alert is sealed).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "ar_internal.h"
#include "log.h"
#include "pinfile.h"
#include "xmalloc.h"

struct ar_pin {
	struct ar_op *op;
	void (*done)(struct ar_op *op, enum pin_match m);
	/* the thread's, until it wrote to fds[1] */
	struct pinfile pf;
	char *pin; /* sodium_malloc: guarded, wiped */
	enum pin_match match;
	/* the loop's */
	pthread_t thread;
	int running;
	int fds[2];
	struct event *ev;
};

static void *
ar_pin_work(void *arg)
{
	struct ar_pin *p = arg;
	char one = 1;
	ssize_t n;

	/* A missing PIN takes the time of a wrong one. */
	p->match = pinfile_check(&p->pf, p->pin);
	if (p->pin[0] == '\0')
		p->match = PIN_WRONG;
	do
		n = write(p->fds[1], &one, 1);
	while (n < 0 && errno == EINTR);
	return NULL;
}

static void
ar_pin_join(struct ar_pin *p)
{
	if (p->running) {
		pthread_join(p->thread, NULL);
		p->running = 0;
	}
}

static void
ar_pin_answered(evutil_socket_t fd, short what, void *arg)
{
	struct ar_pin *p = arg;
	char one;

	(void)what;
	if (read(fd, &one, 1) < 0 && errno == EINTR)
		return; /* the event stays, and fires again */
	ar_pin_join(p);
	p->done(p->op, p->match);
}

struct ar_pin *
ar_pin_start(struct ar_op *op, const struct pinfile *pf, const char *pin,
    void (*done)(struct ar_op *op, enum pin_match m))
{
	struct ar_pin *p = xcalloc(1, sizeof(*p));
	size_t n = pin != NULL ? strlen(pin) : 0;

	p->op = op;
	p->done = done;
	p->pf = *pf;
	p->fds[0] = p->fds[1] = -1;
	/* a library does not exit its host: the cancel fails instead */
	if ((p->pin = sodium_malloc(n + 1)) == NULL) {
		log_warnx("PIN check: out of memory");
		ar_pin_free(p);
		return NULL;
	}
	memcpy(p->pin, n > 0 ? pin : "", n + 1);
	if (pipe2(p->fds, O_CLOEXEC) != 0 ||
	    (p->ev = event_new(op->c->base, p->fds[0], EV_READ, ar_pin_answered,
	         p)) == NULL ||
	    event_add(p->ev, NULL) != 0) {
		log_warn("PIN check: pipe or event");
		ar_pin_free(p);
		return NULL;
	}
	if (pthread_create(&p->thread, NULL, ar_pin_work, p) != 0) {
		log_warnx("cannot start a thread for the PIN check");
		ar_pin_free(p);
		return NULL;
	}
	p->running = 1;
	return p;
}

void
ar_pin_free(struct ar_pin *p)
{
	if (p == NULL)
		return;
	/* freed while checking (ar_client_free): waits for the check,
	 * a fraction of a second, so that nothing outlives the client */
	ar_pin_join(p);
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->fds[0] >= 0)
		close(p->fds[0]);
	if (p->fds[1] >= 0)
		close(p->fds[1]);
	if (p->pin != NULL)
		sodium_free(p->pin);
	sodium_memzero(&p->pf, sizeof(p->pf));
	free(p);
}
