/*
 * Refused device authentications, counted per source and interval for
 * the audit log (conn_authfail.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "audit.h"
#include "conn_authfail.h"
#include "evtimer_ms.h"
#include "log.h"
#include "netaddr.h"
#include "relay.h"
#include "util.h"
#include "xmalloc.h"

static const char *const conn_authfail_reasons[] = {"unknown_device", "revoked",
    "auth_failed"};
#define CONN_AUTHFAIL_NREASONS                                                 \
	(sizeof(conn_authfail_reasons) / sizeof(conn_authfail_reasons[0]))

struct conn_authfail_slot {
	unsigned char source[NETADDR_SOURCE_MAX];
	size_t len; /* 0: no source in this interval */
	unsigned said;
	unsigned long counted[CONN_AUTHFAIL_NREASONS];
};

struct conn_authfail {
	struct relay *relay;
	struct event *timer; /* the interval's end, once one is counted */
	int64_t start_ms; /* monotonic, of the interval */
	unsigned said;
	struct conn_authfail_slot slots[CONN_AUTHFAIL_SLOTS];
	unsigned long others[CONN_AUTHFAIL_NREASONS]; /* slot taken */
	unsigned char key[crypto_shorthash_KEYBYTES];
};

static void
conn_authfail_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_authfail_flush(arg);
}

struct conn_authfail *
conn_authfail_new(struct relay *relay)
{
	struct conn_authfail *a = xcalloc(1, sizeof(*a));

	a->relay = relay;
	a->timer = evtimer_new(relay->base, conn_authfail_timer_cb, a);
	if (a->timer == NULL)
		log_fatalx("conn_authfail: cannot make its timer");
	a->start_ms = monotonic_ms();
	/* keyed: nobody can aim their sources at one place */
	crypto_shorthash_keygen(a->key);
	return a;
}

void
conn_authfail_free(struct conn_authfail *a)
{
	if (a == NULL)
		return;
	conn_authfail_flush(a);
	event_free(a->timer);
	free(a);
}

/* "aggregate n=37 unknown_device=30 auth_failed=7 interval_s=60" */
static unsigned long
conn_authfail_counts(const unsigned long *counted, char *buf, size_t len)
{
	unsigned long n = 0;
	size_t i, off;

	for (i = 0; i < CONN_AUTHFAIL_NREASONS; i++)
		n += counted[i];
	snprintf(buf, len, "aggregate n=%lu", n);
	for (i = 0; i < CONN_AUTHFAIL_NREASONS; i++) {
		if (counted[i] == 0)
			continue;
		off = strlen(buf);
		snprintf(buf + off, len - off, " %s=%lu",
		    conn_authfail_reasons[i], counted[i]);
	}
	off = strlen(buf);
	snprintf(buf + off, len - off, " interval_s=%d",
	    CONN_AUTHFAIL_INTERVAL_S);
	return n;
}

/* One record for what one source (NULL: the sources that shared the
 * table's places) had counted; how many that was. */
static unsigned long
conn_authfail_record(struct conn_authfail *a, const unsigned long *counted,
    const char *address)
{
	char reason[192];
	unsigned long n = conn_authfail_counts(counted, reason, sizeof(reason));

	if (n == 0)
		return 0;
	if (address == NULL) {
		size_t off = strlen(reason);
		snprintf(reason + off, sizeof(reason) - off,
		    " sources=unnamed");
	}
	audit_relay(a->relay, "device.auth", "device:?", "refused", address,
	    "tls", "device:?", reason);
	return n;
}

void
conn_authfail_flush(struct conn_authfail *a)
{
	char name[NETADDR_SOURCE_NAME];
	unsigned long n = 0, sources = 0, one;
	size_t i;

	if (a == NULL)
		return;
	evtimer_del(a->timer);
	for (i = 0; i < CONN_AUTHFAIL_SLOTS; i++) {
		if (a->slots[i].len == 0)
			continue;
		netaddr_source_name(a->slots[i].source, a->slots[i].len, name,
		    sizeof(name));
		one = conn_authfail_record(a, a->slots[i].counted, name);
		n += one;
		sources += one > 0;
	}
	one = conn_authfail_record(a, a->others, NULL);
	n += one;
	sources += one > 0;
	if (n > 0)
		log_info("device authentications refused and not recorded one "
		         "by one: n=%lu records=%lu interval_s=%d",
		    n, sources, CONN_AUTHFAIL_INTERVAL_S);
	memset(a->slots, 0, sizeof(a->slots));
	memset(a->others, 0, sizeof(a->others));
	a->said = 0;
	a->start_ms = monotonic_ms();
}

/* Its source's place, taken for it if free; NULL when another source
 * has it in this interval. */
static struct conn_authfail_slot *
conn_authfail_slot(struct conn_authfail *a, const unsigned char *source,
    size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct conn_authfail_slot *s;
	uint64_t idx;

	if (len > NETADDR_SOURCE_MAX)
		len = NETADDR_SOURCE_MAX;
	crypto_shorthash(h, source, len, a->key);
	memcpy(&idx, h, sizeof(idx));
	s = &a->slots[idx % CONN_AUTHFAIL_SLOTS];
	if (s->len == 0) {
		memcpy(s->source, source, len);
		s->len = len;
	}
	if (s->len != len || memcmp(s->source, source, len) != 0)
		return NULL;
	return s;
}

static size_t
conn_authfail_reason(const char *why)
{
	size_t i;

	for (i = 0; i + 1 < CONN_AUTHFAIL_NREASONS; i++)
		if (why != NULL && strcmp(why, conn_authfail_reasons[i]) == 0)
			return i;
	return CONN_AUTHFAIL_NREASONS - 1; /* auth_failed */
}

int
conn_authfail_take(struct conn_authfail *a, const unsigned char *source,
    size_t len, const char *why)
{
	struct conn_authfail_slot *s;
	int64_t now = monotonic_ms(), left;

	if (a == NULL)
		return 1;
	if (now - a->start_ms >= CONN_AUTHFAIL_INTERVAL_S * 1000)
		conn_authfail_flush(a);
	s = conn_authfail_slot(a, source, len);
	if (s != NULL && s->said < CONN_AUTHFAIL_SAID &&
	    a->said < CONN_AUTHFAIL_SAID_ALL) {
		s->said++;
		a->said++;
		return 1;
	}
	if (s != NULL)
		s->counted[conn_authfail_reason(why)]++;
	else
		a->others[conn_authfail_reason(why)]++;
	if (!evtimer_pending(a->timer, NULL)) {
		left = a->start_ms + CONN_AUTHFAIL_INTERVAL_S * 1000 - now;
		evtimer_add_ms(a->timer, left > 0 ? (long)left : 0);
	}
	return 0;
}
