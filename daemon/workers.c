/*
 * The parent of several workers (workers.h): forks them, restarts one
 * that dies, forwards signals, and tells systemd what all of them say.
 * It runs no event loop of libevent's (the relay's loop, built before
 * the fork, belongs to the workers): a poll() on a signalfd and on one
 * datagram channel per worker is all it needs.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "relay_config.h"
#include "sdnotify.h"
#include "util.h"
#include "workers.h"
#include "xmalloc.h"

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 30000
/* A worker that ran this long before dying starts again at once. */
#define BACKOFF_RESET_MS 30000
/* After shutdown_timeout, this much more before SIGKILL. */
#define STOP_GRACE_MS 5000
/* Each worker is given this WATCHDOG_USEC (or systemd's, if shorter),
 * so its loop pings the parent every second; one silent HUNG_MS is hung
 * and is killed (then restarted like any that dies). */
#define PING_EVERY_USEC 2000000L /* systemd's, if shorter */
#define PING_EVERY_USEC_S "2000000"
#define HUNG_MS 30000
/* The parent's loop wakes at least this often to look at the pings. */
#define TICK_MS 1000

struct worker {
	pid_t pid; /* 0: not running */
	int fd; /* the parent's end of the notify channel; -1: none */
	int ready; /* said READY=1 since it started */
	int64_t pinged_ms; /* its last WATCHDOG=1 (or its start) */
	long backoff_ms;
	int64_t started_ms;
	int64_t restart_at_ms; /* 0: no restart pending */
};

struct workers {
	struct worker *w;
	int n;
	int sfd; /* signalfd */
	int stopping;
	int ready_sent;
	int exit_code;
	int64_t kill_at_ms; /* while stopping: SIGKILL who is left */
	long watchdog_ms; /* half of WATCHDOG_USEC; 0: none */
	int64_t watchdog_at_ms;
	long shutdown_timeout;
};

static int workers_child; /* this process is a worker */

char *
workers_instance_id(const char *base, int worker)
{
	if (worker <= 0)
		return xstrdup(base);
	return xasprintf("%s-%d", base, worker);
}

void
workers_identity(struct relay_config *cfg, int worker)
{
	char *id;

	if (worker <= 0)
		return;
	id = workers_instance_id(cfg->instance_id, worker);
	free(cfg->instance_id);
	cfg->instance_id = id;
}

char *
workers_audit_file(const char *file, int worker)
{
	if (worker <= 0 || file[0] == '\0')
		return xstrdup(file);
	return xasprintf("%s.%d", file, worker);
}

void
workers_reload_others(void)
{
	/* The parent sees who sent it (signalfd) and skips this one. */
	if (workers_child && kill(getppid(), SIGHUP) != 0)
		log_warn("reload: cannot tell the parent");
}

static sigset_t
workers_sigset(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	return set;
}

/* In the new worker: nothing of the parent's supervision stays. */
static void
workers_become_child(struct workers *ws, int fd, pid_t parent)
{
	sigset_t set = workers_sigset();
	char pid[32];
	int j;

	workers_child = 1;
	/* A parent killed outright must not leave workers behind. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(1);
	close(ws->sfd);
	for (j = 0; j < ws->n; j++)
		if (ws->w[j].fd >= 0)
			close(ws->w[j].fd);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sdnotify_set_fd(fd);
	unsetenv("NOTIFY_SOCKET");
	/* The worker's loop pings its parent every second, systemd or
	 * not: the parent sees a hung loop and pings systemd for all. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	if (ws->watchdog_ms == 0 || ws->watchdog_ms * 2000 > PING_EVERY_USEC)
		setenv("WATCHDOG_USEC", PING_EVERY_USEC_S, 1);
	free(ws->w);
}

/* 1 in the new child, 0 in the parent, -1 when it could not fork. */
static int
workers_fork(struct workers *ws, int i)
{
	struct worker *w = &ws->w[i];
	pid_t parent = getpid(), pid;
	int sv[2];

	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	        sv) != 0) {
		log_warn("worker %d: socketpair", i);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("worker %d: fork", i);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		workers_become_child(ws, sv[1], parent);
		return 1;
	}
	close(sv[1]);
	w->fd = sv[0];
	w->pid = pid;
	w->ready = 0;
	w->started_ms = w->pinged_ms = monotonic_ms();
	w->restart_at_ms = 0;
	log_info("worker %d started: pid=%ld", i, (long)pid);
	return 0;
}

static int
workers_live(const struct workers *ws)
{
	int i, n = 0;

	for (i = 0; i < ws->n; i++)
		n += ws->w[i].pid != 0;
	return n;
}

static void
workers_signal_all(struct workers *ws, int sig, pid_t except)
{
	int i;

	for (i = 0; i < ws->n; i++)
		if (ws->w[i].pid != 0 && ws->w[i].pid != except)
			kill(ws->w[i].pid, sig);
}

static void
workers_stop(struct workers *ws)
{
	int i;

	if (ws->stopping)
		return;
	ws->stopping = 1;
	log_info("shutting down: stopping %d workers", workers_live(ws));
	sdnotify("STOPPING=1");
	for (i = 0; i < ws->n; i++)
		ws->w[i].restart_at_ms = 0;
	workers_signal_all(ws, SIGTERM, 0);
	ws->kill_at_ms =
	    monotonic_ms() + ws->shutdown_timeout * 1000 + STOP_GRACE_MS;
}

static void
workers_exited(struct workers *ws, pid_t pid, int status)
{
	struct worker *w = NULL;
	int i, code;
	int64_t now = monotonic_ms();

	for (i = 0; i < ws->n && w == NULL; i++)
		if (ws->w[i].pid == pid)
			w = &ws->w[i];
	if (w == NULL)
		return;
	i = (int)(w - ws->w);
	w->pid = 0;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (ws->stopping) {
		if (code > ws->exit_code)
			ws->exit_code = code;
		log_info("worker %d exited: status=%d", i, code);
		return;
	}
	if (WIFEXITED(status) && code == WORKERS_EXIT_REFUSED) {
		log_warnx("worker %d refuses to run (see its log); stopping "
		          "every worker",
		    i);
		ws->exit_code = code;
		workers_stop(ws);
		return;
	}
	if (now - w->started_ms >= BACKOFF_RESET_MS)
		w->backoff_ms = 0;
	w->backoff_ms =
	    w->backoff_ms == 0 ? BACKOFF_FIRST_MS : w->backoff_ms * 2;
	if (w->backoff_ms > BACKOFF_MAX_MS)
		w->backoff_ms = BACKOFF_MAX_MS;
	w->restart_at_ms = now + w->backoff_ms;
	if (WIFSIGNALED(status))
		log_warnx("worker %d died: pid=%ld signal=%d; restarting in "
		          "%ld ms",
		    i, (long)pid, WTERMSIG(status), w->backoff_ms);
	else
		log_warnx("worker %d exited: pid=%ld status=%d; restarting in "
		          "%ld ms",
		    i, (long)pid, code, w->backoff_ms);
}

static void
workers_reap(struct workers *ws)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		workers_exited(ws, pid, status);
}

static void
workers_on_signal(struct workers *ws)
{
	struct signalfd_siginfo si;

	while (read(ws->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			workers_reap(ws);
			break;
		case SIGTERM:
		case SIGINT:
			workers_stop(ws);
			break;
		case SIGHUP:
			/* From a worker that reloaded already: the others. */
			log_info("reload: passing SIGHUP to the workers");
			workers_signal_all(ws, SIGHUP, (pid_t)si.ssi_pid);
			break;
		default:
			break;
		}
	}
}

static void
workers_all_ready(struct workers *ws)
{
	int i;

	if (ws->ready_sent || ws->stopping)
		return;
	for (i = 0; i < ws->n; i++)
		if (!ws->w[i].ready)
			return;
	ws->ready_sent = 1;
	log_info("all %d workers ready", ws->n);
	sdnotify("READY=1");
	sdnotify_status("%d workers accepting alerts", ws->n);
}

/* One datagram: newline-separated assignments (sd_notify(3)). */
static void
workers_on_message(struct workers *ws, int i, char *msg)
{
	char *line, *save = NULL;

	for (line = strtok_r(msg, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "READY=1") == 0) {
			ws->w[i].ready = 1;
			workers_all_ready(ws);
		} else if (strcmp(line, "WATCHDOG=1") == 0)
			ws->w[i].pinged_ms = monotonic_ms();
		else if (strncmp(line, "STATUS=", 7) == 0)
			sdnotify_status("worker %d: %.200s", i, line + 7);
	}
}

static void
workers_on_channel(struct workers *ws, int i)
{
	char buf[1024];
	ssize_t n;

	while ((n = recv(ws->w[i].fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		workers_on_message(ws, i, buf);
	}
}

/* A worker whose loop is silent for HUNG_MS is killed (and restarted
 * like one that died).  systemd hears WATCHDOG=1 while every running
 * worker pinged within systemd's own interval. */
static void
workers_watchdog(struct workers *ws, int64_t now)
{
	int i, all = 1;

	for (i = 0; i < ws->n; i++) {
		if (ws->w[i].pid == 0)
			continue;
		if (now - ws->w[i].pinged_ms > 2 * ws->watchdog_ms &&
		    ws->watchdog_ms > 0)
			all = 0;
		if (now - ws->w[i].pinged_ms > HUNG_MS && !ws->stopping) {
			log_warnx("worker %d: pid=%ld its loop has not "
			          "answered "
			          "for %d ms; killing it",
			    i, (long)ws->w[i].pid, HUNG_MS);
			kill(ws->w[i].pid, SIGKILL);
			ws->w[i].pinged_ms = now; /* once */
		}
	}
	if (ws->watchdog_ms == 0 || now < ws->watchdog_at_ms)
		return;
	ws->watchdog_at_ms = now + ws->watchdog_ms;
	if (all)
		sdnotify("WATCHDOG=1");
	else
		log_warnx("a worker's loop is silent: systemd's watchdog is "
		          "not pinged");
}

/* Milliseconds until the next timed thing, for poll(); -1: none. */
static int
workers_timeout(const struct workers *ws, int64_t now)
{
	int64_t next = -1, t;
	int i;

	for (i = 0; i < ws->n; i++)
		if ((t = ws->w[i].restart_at_ms) != 0 && (next < 0 || t < next))
			next = t;
	if (ws->watchdog_ms > 0 && (next < 0 || ws->watchdog_at_ms < next))
		next = ws->watchdog_at_ms;
	if (ws->stopping && (next < 0 || ws->kill_at_ms < next))
		next = ws->kill_at_ms;
	if (next < 0 || next > now + TICK_MS)
		return TICK_MS;
	return next <= now ? 0 : (int)(next - now);
}

/* Returns 1 in a restarted child. */
static int
workers_due(struct workers *ws, int64_t now, int *child)
{
	int i;

	for (i = 0; i < ws->n; i++) {
		if (ws->w[i].restart_at_ms == 0 || ws->w[i].restart_at_ms > now)
			continue;
		ws->w[i].restart_at_ms = 0;
		switch (workers_fork(ws, i)) {
		case 1:
			*child = i;
			return 1;
		case -1:
			ws->w[i].restart_at_ms = now + BACKOFF_MAX_MS;
			break;
		}
	}
	if (ws->stopping && now >= ws->kill_at_ms && workers_live(ws) > 0) {
		log_warnx("workers still running after shutdown_timeout; "
		          "killing them");
		workers_signal_all(ws, SIGKILL, 0);
		ws->kill_at_ms = now + 1000;
		ws->exit_code = 1;
	}
	return 0;
}

/* The parent's loop; returns the worker index in a (re)started child. */
static int
workers_supervise(struct workers *ws)
{
	struct pollfd *pfd = xcalloc((size_t)ws->n + 1, sizeof(*pfd));
	int i, child = -1;
	nfds_t nfds;

	for (;;) {
		workers_reap(ws); /* a SIGCHLD may predate the signalfd read */
		if (ws->stopping && workers_live(ws) == 0)
			break;
		pfd[0].fd = ws->sfd;
		pfd[0].events = POLLIN;
		for (i = 0, nfds = 1; i < ws->n; i++, nfds++) {
			pfd[nfds].fd = ws->w[i].fd;
			pfd[nfds].events = POLLIN;
		}
		if (poll(pfd, nfds, workers_timeout(ws, monotonic_ms())) < 0 &&
		    errno != EINTR)
			log_fatal("exiting: poll");
		if (pfd[0].revents & POLLIN)
			workers_on_signal(ws);
		for (i = 0; i < ws->n; i++)
			if (ws->w[i].fd >= 0 && (pfd[i + 1].revents & POLLIN))
				workers_on_channel(ws, i);
		workers_watchdog(ws, monotonic_ms());
		if (workers_due(ws, monotonic_ms(), &child)) {
			free(pfd);
			return child;
		}
	}
	free(pfd);
	log_info("stopped");
	exit(ws->exit_code);
}

static long
workers_watchdog_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	long v;

	if (usec == NULL || parse_long(usec, 1, 3600L * 1000000, &v) != 0)
		return 0;
	if (pid != NULL && atol(pid) != (long)getpid())
		return 0;
	return v / 2000;
}

int
workers_run(int n, long shutdown_timeout)
{
	static struct workers ws;
	sigset_t set = workers_sigset();
	int i;

	ws.n = n;
	ws.shutdown_timeout = shutdown_timeout;
	ws.w = xcalloc((size_t)n, sizeof(*ws.w));
	for (i = 0; i < n; i++)
		ws.w[i].fd = -1;
	/* Blocked from here: a signal waits for the loop, never lost. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (ws.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		log_fatal("exiting: signalfd");
	if ((ws.watchdog_ms = workers_watchdog_ms()) > 0)
		ws.watchdog_at_ms = monotonic_ms() + ws.watchdog_ms;
	log_info("starting %d workers", n);
	for (i = 0; i < n; i++)
		switch (workers_fork(&ws, i)) {
		case 1:
			return i;
		case -1:
			ws.w[i].restart_at_ms =
			    monotonic_ms() + BACKOFF_FIRST_MS;
			break;
		}
	return workers_supervise(&ws);
}
