/*
 * Password checks off the event loop: Argon2id (libsodium's
 * crypto_pwhash_str_verify, about 0.1 s and 64 MiB each) runs on one
 * worker thread, and its answers come back to the loop through a pipe
 * watched by an event.  The queue is bounded: a flood of logins is
 * refused rather than piling up work.
 */
#ifndef ALERTCONSOLE_CONSOLE_PWCHECK_H
#define ALERTCONSOLE_CONSOLE_PWCHECK_H

#include <stddef.h>

/* Checks queued or running at most; the one beyond is refused. */
#define CONSOLE_PWCHECK_MAX 32

struct event_base;
struct console_pwcheck;

/* Called on the loop with ok 1 (the password matches), 0 (it does
 * not), or -1: the check was dropped (the console is stopping). */
typedef void (*console_pwcheck_cb)(int ok, void *arg);

/* NULL (logged) when the thread or pipe cannot be made. */
struct console_pwcheck *console_pwcheck_new(struct event_base *base);
/* Joins the thread; checks not done yet are called back with -1. */
void console_pwcheck_free(struct console_pwcheck *p);

/* Queues a check of password against hash (both copied; the copy of
 * the password is wiped when done).  0 queued: cb is called exactly
 * once, later, on the loop; -1 the queue is full (cb is not called). */
int console_pwcheck_start(struct console_pwcheck *p, const char *hash,
    const char *password, console_pwcheck_cb cb, void *arg);

#endif
