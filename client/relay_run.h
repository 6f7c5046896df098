/*
 * One run of an operation against the configured relays: attempts over
 * the relays in turn, with backoff between rounds, until the operation
 * ends, every relay refused it for good (one relay's refusal is that
 * relay's word: the next is tried), the device itself cannot go on, or
 * the deadline passes.  A session
 * that was lost after it settled (the operation was following an alert)
 * starts a new round with the backoff reset.
 */
#ifndef ALERTCTL_RELAY_RUN_H
#define ALERTCTL_RELAY_RUN_H

#include "client_config.h"
#include "relay_session.h"

#define RELAY_RUN_BACKOFF_MIN_MS 500
#define RELAY_RUN_BACKOFF_MAX_MS 5000

struct relay_run;

/* NULL when TLS cannot be set up (logged).  progress: the steps of each
 * attempt on stdout, as send shows them; else only with -v.  cfg is the
 * device's, shared by its runs: a newer directory a session verifies is
 * applied to it (trust.h), and each attempt takes the pins in force. */
struct relay_run *relay_run_new(struct client_config *cfg,
    const unsigned char *sk, const struct relay_op *op, long timeout_s,
    int progress);
/* What the runs of one client share (libalertclient): its TLS context
 * and DNS resolver, made once instead of per run.  Borrowed: they must
 * outlive the runs.  A NULL member: the run makes its own. */
struct relay_run_shared {
	SSL_CTX *ssl_ctx;
	struct evdns_base *dns;
};
/* The same on a caller's loop (libalertclient): nothing runs until
 * relay_run_start(); the end is told once through ended(), from the
 * loop, where the run may be freed.  NULL when TLS cannot be set up. */
struct relay_run *relay_run_new_on(struct client_config *cfg,
    const unsigned char *sk, const struct relay_op *op, long timeout_s,
    struct event_base *base, const struct relay_run_shared *shared,
    void (*ended)(int exit_code, void *arg), void *arg);
void relay_run_start(struct relay_run *r);
/* A resolver on base (reads /etc/resolv.conf); NULL (logged) without
 * one: addresses and /etc/hosts names only. */
struct evdns_base *relay_run_dns(struct event_base *base);
/* The progress lines (connecting, connected, authenticated) go to say()
 * instead of stdout. */
void relay_run_say(struct relay_run *r, void (*say)(void *, const char *),
    void *arg);
/* Runs until the end; the operation's exit code, else EXIT_FAIL (the
 * operation's failed() said why). */
int relay_run_go(struct relay_run *r);
/* For a run that lives as long as its program (the panic button,
 * watch): a refusal by every relay, or the device's own failure, starts
 * a new round after the backoff instead of ending the run. */
void relay_run_persist(struct relay_run *r);
/* For a persisting run: refused() is told, before the backoff, each
 * time the run stops asking relays for now because nothing gets through:
 * every relay has refused for good since the last time (or since a
 * session settled), whatever attempts at unreachable relays came in
 * between, so not per round; or one relay's code says the device is
 * shut out and the device's own verified directory agrees; or a failure
 * without a relay's code, the device's own (no relay can help with it).
 * why: the last reason, with the relay's label.  The run goes on: a
 * relay may take the device again, which the operation sees as its
 * ready(). */
void relay_run_on_refused(struct relay_run *r,
    void (*refused)(void *arg, const char *why), void *arg);
/* 1 when a relay's error code says it refuses the device itself:
 * "revoked", or "auth_failed", which a relay also answers for an id it
 * does not know (docs/PROTOCOL.md; older relays said "unknown_device").
 * The one reading of them for send, cancel, status, a directory fetch
 * and libalertclient's status. */
int relay_code_shut_out(const char *code);
/* The relay's error code that ended the last attempt ("revoked") when
 * the run ended on what every relay said (or the device's own verified
 * directory agreed), else "" (at the deadline too): for failed() to tell
 * a refused device from an unreachable relay. */
const char *relay_run_code(const struct relay_run *r);
/* A new deadline, timeout_s from now; 0: none. */
void relay_run_deadline(struct relay_run *r, long timeout_s);
void relay_run_free(struct relay_run *r);
/* Keepalive of the sessions (relay_session_params); 0: the defaults. */
void relay_run_keepalive(struct relay_run *r, int ping_s, int dead_s);
/* The loop, for signals and timers of the operation. */
struct event_base *relay_run_base(struct relay_run *r);
/* The session of the attempt under way until it reports its outcome,
 * else NULL; with the attempt's number, for an operation that acts
 * between frames (the panic button) to tell whether the session its
 * ready() saw is still the live one. */
struct relay_session *relay_run_session(const struct relay_run *r);
unsigned long relay_run_attempt_no(const struct relay_run *r);
/* Ends the run now with this exit code (a signal). */
void relay_run_finish(struct relay_run *r, int exit_code);

#endif
