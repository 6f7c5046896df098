/*
 * Several event loops: with [relay] workers = N > 1 the process that
 * started binds every listener, loads every key, opens every file, drops
 * privileges, then forks N workers and only supervises them.  Each
 * worker is a whole relay instance with its own event loop, Redis
 * connections, instance id and audit chain; the parent restarts a
 * worker that dies, forwards SIGTERM and SIGHUP, and speaks to systemd
 * for all of them.  With workers = 1 there is no parent: the process is
 * the relay, exactly as it was.
 *
 * The device listeners, and why SO_REUSEPORT rather than one shared
 * socket:
 *
 *   Device connections live for days, so how they are spread when they
 *   connect decides how the work is spread for good.  On one socket
 *   inherited by all, every worker's epoll is woken for each connection
 *   and the first one in the socket's wait queue nearly always wins the
 *   accept: on a lightly loaded relay most devices would end up on one
 *   worker and the others would idle through the next burst.  So the
 *   parent binds one socket per worker per address, in one SO_REUSEPORT
 *   group, and the kernel hashes each connection to one of them: an
 *   even spread whatever the load at connect time.  The parent keeps
 *   every socket open: a worker that dies leaves its socket, and the
 *   connections queued on it, to the worker restarted in its place (no
 *   privilege needed to listen again, no connection reset), and while it
 *   is being restarted (250 ms at first) the devices hashed to it wait in
 *   that queue rather than being refused.  A worker whose loop hangs is
 *   killed after 30 s of silence and restarted the same way.
 *
 *   The admin listener (and with it /metrics) is per worker: worker i
 *   listens on the configured port + i, so each worker's counters can be
 *   scraped whole (one scrape target per port).  A POST /reload on any of
 *   them reloads that worker and, through the parent, the others.
 *
 *   The ack listeners (HTTPS and the plain loopback one Kannel posts SMS
 *   replies to) are served by worker 0 alone: their limits on failed
 *   acknowledgements and "how to reply" hints live in memory, and split
 *   over N workers an attacker guessing SMS codes would get N times the
 *   attempts.  While worker 0 restarts, requests wait in the socket's
 *   backlog (the parent keeps it open) and are answered once it is back.
 */
#ifndef ALERTRELAY_WORKERS_H
#define ALERTRELAY_WORKERS_H

struct relay_config;

#define WORKERS_MAX 64
/* A worker's exit status for what no restart can change (its spool
 * locked by another relay, say): the parent stops them all and exits
 * with it, rather than restarting it for ever while holding the
 * listening sockets (sysexits' EX_CONFIG). */
#define WORKERS_EXIT_REFUSED 78

/* In the parent: forks n workers and supervises them until SIGTERM;
 * never returns there (exits with the workers' status).  Returns in each
 * worker, with its index 0..n-1. */
int workers_run(int n, long shutdown_timeout);

/* Gives cfg worker i's identity: instance id "<instance_id>-<i>" for
 * i > 0 (worker 0 keeps the id, its chain and its files, so going from
 * 1 to N workers and back continues them).  A no-op for i <= 0. */
void workers_identity(struct relay_config *cfg, int worker);
/* Worker i's instance id: the configured one, "-i" added from 1 on. */
char *workers_instance_id(const char *base, int worker);

/* Worker i's audit file: the configured one for i <= 0, else
 * "<file>.<i>" (one chain per file).  Allocated. */
char *workers_audit_file(const char *file, int worker);

/* Tells the parent to send SIGHUP to the other workers (after a reload
 * asked for on this worker's admin listener).  No-op without workers. */
void workers_reload_others(void);

#endif
