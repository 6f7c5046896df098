/*
 * Password checks off the event loop: Argon2id (libsodium's
 * crypto_pwhash_str_verify, about 0.1 s and 64 MiB each) runs on one
 * worker thread, and its answers come back to the loop through a pipe
 * watched by an event.  The queue is bounded: a flood of logins is
 * refused rather than piling up work.  It has two lanes: the logins of
 * browsers that showed a valid device cookie (console_device.h) have
 * places of their own and are checked first, so that strangers' logins
 * from however many addresses do not keep an operator's own browser
 * out; and in each lane one source (an address, a device cookie) has
 * at most CONSOLE_PWCHECK_PER_KEY checks waiting, so that a few
 * addresses do not fill it.
 */
#ifndef ALERTCONSOLE_CONSOLE_PWCHECK_H
#define ALERTCONSOLE_CONSOLE_PWCHECK_H

#include <stddef.h>

/* Checks queued or running at most, in the lane of other logins and
 * in that of trusted browsers; the one beyond is refused. */
#define CONSOLE_PWCHECK_MAX 32
#define CONSOLE_PWCHECK_TRUSTED_MAX 8
/* ... and of one source in its lane (two: a double click is no flood). */
#define CONSOLE_PWCHECK_PER_KEY 2
#define CONSOLE_PWCHECK_KEY 16 /* bytes that name a source */

enum console_pwcheck_lane {
	CONSOLE_PWCHECK_OTHERS,
	CONSOLE_PWCHECK_TRUSTED, /* a valid device cookie: checked first */
	CONSOLE_PWCHECK_NLANES
};

/* Whose check it is: its lane and its source there. */
struct console_pwcheck_who {
	enum console_pwcheck_lane lane;
	unsigned char key[CONSOLE_PWCHECK_KEY];
	size_t keylen;
};

/* Why a check was not queued. */
enum console_pwcheck_refusal {
	CONSOLE_PWCHECK_QUEUED = 0,
	CONSOLE_PWCHECK_FULL = -1, /* the lane is full */
	CONSOLE_PWCHECK_OWN = -2, /* the source has its share waiting */
};

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
 * the password is wiped when done) in who's lane.  CONSOLE_PWCHECK_QUEUED:
 * cb is called exactly once, later, on the loop; otherwise why it was
 * refused (cb is not called).  A password too long or a hash that is
 * none count as a full lane. */
enum console_pwcheck_refusal console_pwcheck_start(struct console_pwcheck *p,
    const struct console_pwcheck_who *who, const char *hash,
    const char *password, console_pwcheck_cb cb, void *arg);

#endif
