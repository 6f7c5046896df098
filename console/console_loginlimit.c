/*
 * Failed logins per source (console_loginlimit.h).
 *
 * Open addressing: a source's place is one of CONSOLE_LOGINLIMIT_PROBE
 * places from where its keyed hash (SipHash, a random key: nobody can
 * aim many sources at one run of places) points.  A place is in use
 * while its window runs; one whose window is over is free again.  With
 * runs that overlap, the table is nearly full before a source finds
 * its run all in use and counts on the overflow.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "console_loginlimit.h"
#include "netaddr.h"
#include "xmalloc.h"

#define CONSOLE_LOGINLIMIT_PROBE 32

struct console_loginlimit_slot {
	unsigned char key[CONSOLE_LOGINLIMIT_KEY];
	unsigned char len;
	uint32_t failed; /* 0: free */
	time_t since; /* the window's start */
};

struct console_loginlimit {
	struct console_loginlimit_slot slot[CONSOLE_LOGINLIMIT_SLOTS];
	struct console_loginlimit_slot overflow;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	long window;
};

struct console_loginlimit *
console_loginlimit_new(long window_s)
{
	struct console_loginlimit *t = xcalloc(1, sizeof(*t));

	crypto_shorthash_keygen(t->hkey);
	t->window = window_s;
	return t;
}

void
console_loginlimit_free(struct console_loginlimit *t)
{
	free(t);
}

/* The IPv4 address, or the /48 of an IPv6 one: a site gets a /48, so
 * counting its /64s apart would let it fail 65536 times as often. */
void
console_loginlimit_source(const struct sockaddr *sa,
    struct console_loginlimit_src *src)
{
	unsigned char key[NETADDR_SOURCE_MAX];
	size_t n = 0;

	memset(src, 0, sizeof(*src));
	if (sa != NULL &&
	    (sa->sa_family == AF_INET || sa->sa_family == AF_INET6))
		n = netaddr_source(sa, key);
	if (n > CONSOLE_LOGINLIMIT_KEY)
		n = CONSOLE_LOGINLIMIT_KEY;
	memcpy(src->key, key, n);
	src->len = n;
}

static int
console_loginlimit_live(const struct console_loginlimit *t,
    const struct console_loginlimit_slot *s, time_t now)
{
	return s->failed > 0 && now - s->since <= t->window;
}

static int
console_loginlimit_is(const struct console_loginlimit_slot *s,
    const struct console_loginlimit_src *src)
{
	return s->failed > 0 && s->len == src->len &&
	    memcmp(s->key, src->key, src->len) == 0;
}

/* src's place (live or not), else a free one in its run (*fresh set),
 * else NULL: the run is all in use by others. */
static struct console_loginlimit_slot *
console_loginlimit_find(struct console_loginlimit *t,
    const struct console_loginlimit_src *src, time_t now, int *fresh)
{
	struct console_loginlimit_slot *s, *free_one = NULL;
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t at;
	size_t i;

	crypto_shorthash(h, src->key, src->len, t->hkey);
	memcpy(&at, h, sizeof(at));
	for (i = 0; i < CONSOLE_LOGINLIMIT_PROBE; i++) {
		s = &t->slot[(at + i) % CONSOLE_LOGINLIMIT_SLOTS];
		if (console_loginlimit_is(s, src)) {
			*fresh = 0;
			return s;
		}
		if (free_one == NULL && !console_loginlimit_live(t, s, now))
			free_one = s;
	}
	*fresh = 1;
	return free_one;
}

/* Where src's failures count: its place, a free one (*fresh), or the
 * overflow when its run is all in use by others. */
static struct console_loginlimit_slot *
console_loginlimit_place(struct console_loginlimit *t,
    const struct console_loginlimit_src *src, time_t now, int *fresh)
{
	struct console_loginlimit_slot *s =
	    console_loginlimit_find(t, src, now, fresh);

	if (s != NULL)
		return s;
	*fresh = 0;
	return &t->overflow;
}

long
console_loginlimit_failed(struct console_loginlimit *t,
    const struct console_loginlimit_src *src, time_t now)
{
	int fresh;
	struct console_loginlimit_slot *s =
	    console_loginlimit_place(t, src, now, &fresh);

	return !fresh && console_loginlimit_live(t, s, now) ? (long)s->failed
	                                                    : 0;
}

void
console_loginlimit_fail(struct console_loginlimit *t,
    const struct console_loginlimit_src *src, time_t now)
{
	int fresh;
	struct console_loginlimit_slot *s =
	    console_loginlimit_place(t, src, now, &fresh);

	if (fresh) {
		memcpy(s->key, src->key, src->len);
		s->len = (unsigned char)src->len;
		s->failed = 0;
	}
	/* a window that is over starts afresh: else an address that once
	 * failed often enough would be refused until a restart */
	if (!console_loginlimit_live(t, s, now)) {
		s->failed = 0;
		s->since = now;
	}
	if (s->failed < UINT32_MAX)
		s->failed++;
}

void
console_loginlimit_ok(struct console_loginlimit *t,
    const struct console_loginlimit_src *src)
{
	int fresh;
	struct console_loginlimit_slot *s =
	    console_loginlimit_find(t, src, 0, &fresh);

	if (s != NULL && !fresh)
		s->failed = 0;
}
