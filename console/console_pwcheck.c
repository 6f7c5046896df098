/*
 * Password checks on a worker thread (console_pwcheck.h).
 *
 * A job moves from its lane's todo list (the trusted lane's first) to
 * the done list under the mutex; the worker then writes one byte to
 * the pipe, and the loop's read event
 * takes every done job and calls it back.  Nothing but the hash, the
 * password and the answer crosses threads: the callback and its
 * argument (a request, the database) are used only on the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "console_pwcheck.h"
#include "console_users.h"
#include "log.h"
#include "xmalloc.h"

struct console_pwcheck_job {
	TAILQ_ENTRY(console_pwcheck_job) entry;
	TAILQ_ENTRY(console_pwcheck_job) mine; /* in `all`: the loop's own */
	struct console_pwcheck_who who;
	char hash[crypto_pwhash_STRBYTES];
	char password[CONSOLE_PASS_MAX + 1];
	int ok;
	console_pwcheck_cb cb;
	void *arg;
};

TAILQ_HEAD(console_pwcheck_list, console_pwcheck_job);
TAILQ_HEAD(console_pwcheck_all, console_pwcheck_job);

struct console_pwcheck {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct console_pwcheck_list todo[CONSOLE_PWCHECK_NLANES], done;
	/* Queued, running or done but not yet called back: touched only on
	 * the loop, so it counts a lane's or a source's without the lock. */
	struct console_pwcheck_all all;
	size_t n[CONSOLE_PWCHECK_NLANES];
	int stop;
	int fds[2]; /* the worker writes [1], the loop reads [0] */
	struct event *ev;
};

static void
console_pwcheck_job_free(struct console_pwcheck_job *j)
{
	/* the password, and a device cookie's hash in who */
	sodium_memzero(j, sizeof(*j));
	free(j);
}

static void
console_pwcheck_wake(struct console_pwcheck *p)
{
	char b = 1;

	/* Full pipe (EAGAIN): a byte is waiting already, enough to wake. */
	while (write(p->fds[1], &b, 1) < 0 && errno == EINTR)
		;
}

/* The next job, the trusted lane's first; NULL when none (under mu). */
static struct console_pwcheck_job *
console_pwcheck_next(struct console_pwcheck *p)
{
	struct console_pwcheck_job *j;

	if ((j = TAILQ_FIRST(&p->todo[CONSOLE_PWCHECK_TRUSTED])) == NULL)
		j = TAILQ_FIRST(&p->todo[CONSOLE_PWCHECK_OTHERS]);
	return j;
}

static void *
console_pwcheck_worker(void *arg)
{
	struct console_pwcheck *p = arg;
	struct console_pwcheck_job *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && console_pwcheck_next(p) == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		j = console_pwcheck_next(p);
		TAILQ_REMOVE(&p->todo[j->who.lane], j, entry);
		pthread_mutex_unlock(&p->mu);
		j->ok = crypto_pwhash_str_verify(j->hash, j->password,
		            strlen(j->password)) == 0;
		sodium_memzero(j->password, sizeof(j->password));
		pthread_mutex_lock(&p->mu);
		TAILQ_INSERT_TAIL(&p->done, j, entry);
		console_pwcheck_wake(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Calls back every job of list: with its answer, or -1 when dropped. */
static void
console_pwcheck_answer(struct console_pwcheck *p,
    struct console_pwcheck_list *list, int dropped)
{
	struct console_pwcheck_job *j;

	while ((j = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, j, entry);
		TAILQ_REMOVE(&p->all, j, mine);
		p->n[j->who.lane]--;
		j->cb(dropped ? -1 : j->ok, j->arg);
		console_pwcheck_job_free(j);
	}
}

static void
console_pwcheck_ready(evutil_socket_t fd, short what, void *arg)
{
	struct console_pwcheck *p = arg;
	struct console_pwcheck_list ready;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	TAILQ_INIT(&ready);
	pthread_mutex_lock(&p->mu);
	TAILQ_CONCAT(&ready, &p->done, entry);
	pthread_mutex_unlock(&p->mu);
	console_pwcheck_answer(p, &ready, 0);
}

struct console_pwcheck *
console_pwcheck_new(struct event_base *base)
{
	struct console_pwcheck *p = xcalloc(1, sizeof(*p));
	size_t i;

	for (i = 0; i < CONSOLE_PWCHECK_NLANES; i++)
		TAILQ_INIT(&p->todo[i]);
	TAILQ_INIT(&p->done);
	TAILQ_INIT(&p->all);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->fds[0] = p->fds[1] = -1;
	if (pipe2(p->fds, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    (p->ev = event_new(base, p->fds[0], EV_READ | EV_PERSIST,
	         console_pwcheck_ready, p)) == NULL ||
	    event_add(p->ev, NULL) != 0) {
		log_warn("password checks: pipe");
		goto fail;
	}
	if ((errno = pthread_create(&p->thread, NULL, console_pwcheck_worker,
	         p)) != 0) {
		log_warn("password checks: thread");
		goto fail;
	}
	return p;
fail:
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->fds[0] >= 0)
		close(p->fds[0]);
	if (p->fds[1] >= 0)
		close(p->fds[1]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	return NULL;
}

void
console_pwcheck_free(struct console_pwcheck *p)
{
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	console_pwcheck_answer(p, &p->done, 1);
	for (i = 0; i < CONSOLE_PWCHECK_NLANES; i++)
		console_pwcheck_answer(p, &p->todo[i], 1);
	event_free(p->ev);
	close(p->fds[0]);
	close(p->fds[1]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

/* The checks who's source has in its lane (on the loop). */
static size_t
console_pwcheck_count(struct console_pwcheck *p,
    const struct console_pwcheck_who *who)
{
	struct console_pwcheck_job *j;
	size_t n = 0;

	TAILQ_FOREACH(j, &p->all, mine)
	if (j->who.lane == who->lane && j->who.keylen == who->keylen &&
	    memcmp(j->who.key, who->key, who->keylen) == 0)
		n++;
	return n;
}

enum console_pwcheck_refusal
console_pwcheck_start(struct console_pwcheck *p,
    const struct console_pwcheck_who *who, const char *hash,
    const char *password, console_pwcheck_cb cb, void *arg)
{
	struct console_pwcheck_job *j;

	if (p->n[who->lane] >= (who->lane == CONSOLE_PWCHECK_TRUSTED
	                               ? CONSOLE_PWCHECK_TRUSTED_MAX
	                               : CONSOLE_PWCHECK_MAX) ||
	    strlen(password) > CONSOLE_PASS_MAX ||
	    strlen(hash) >= sizeof(j->hash) || who->keylen > sizeof(who->key))
		return CONSOLE_PWCHECK_FULL;
	if (console_pwcheck_count(p, who) >= CONSOLE_PWCHECK_PER_KEY)
		return CONSOLE_PWCHECK_OWN;
	j = xcalloc(1, sizeof(*j));
	memcpy(j->hash, hash, strlen(hash) + 1);
	memcpy(j->password, password, strlen(password) + 1);
	j->who = *who;
	j->cb = cb;
	j->arg = arg;
	p->n[who->lane]++;
	TAILQ_INSERT_TAIL(&p->all, j, mine);
	pthread_mutex_lock(&p->mu);
	TAILQ_INSERT_TAIL(&p->todo[who->lane], j, entry);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return CONSOLE_PWCHECK_QUEUED;
}
