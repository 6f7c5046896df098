/*
 * The failed logins counted per source (an IPv4 address, an IPv6 /48:
 * one site holds all of it) over a window of login_lockout seconds that
 * starts at the source's first failure.  A source gets a place only
 * when a login of its fails (a request that is no login, or one that
 * succeeds, takes none), and a place whose window still runs is never
 * given to another: a flood of other sources cannot wipe a count.  When
 * every place that a source could take is in use, its failures count in
 * one place that all such sources share (the overflow), so that holding
 * more addresses than the table gains an attacker one address's budget
 * more, not an unbounded one.
 */
#ifndef ALERTCONSOLE_CONSOLE_LOGINLIMIT_H
#define ALERTCONSOLE_CONSOLE_LOGINLIMIT_H

#include <stddef.h>
#include <time.h>

/* Places: more sources than the password checks (about 10 a second)
 * can fail in the default window of 900 s; 24 bytes each. */
#define CONSOLE_LOGINLIMIT_SLOTS 16384
#define CONSOLE_LOGINLIMIT_KEY 6 /* an IPv4 address or an IPv6 /48 */

struct sockaddr;
struct console_loginlimit;

/* A source as counted here. */
struct console_loginlimit_src {
	unsigned char key[CONSOLE_LOGINLIMIT_KEY];
	size_t len; /* 0: unknown (not an IP peer), counted as one source */
};

struct console_loginlimit *console_loginlimit_new(long window_s);
void console_loginlimit_free(struct console_loginlimit *t);

/* The source of sa (may be NULL). */
void console_loginlimit_source(const struct sockaddr *sa,
    struct console_loginlimit_src *src);

/* The failures src has in its window (its place's, or the overflow's
 * when it has none and none is free for it); takes no place. */
long console_loginlimit_failed(struct console_loginlimit *t,
    const struct console_loginlimit_src *src, time_t now);
/* One more failure for src: on its place, a free one, or the overflow. */
void console_loginlimit_fail(struct console_loginlimit *t,
    const struct console_loginlimit_src *src, time_t now);
/* A login of src succeeded: its count is over (its place is free). */
void console_loginlimit_ok(struct console_loginlimit *t,
    const struct console_loginlimit_src *src);

#endif
