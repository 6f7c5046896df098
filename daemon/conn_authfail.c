/*
 * Refused device authentications, counted per source and interval for
 * the audit log (conn_authfail.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "audit.h"
#include "codecount.h"
#include "conn_authfail.h"
#include "evtimer_ms.h"
#include "log.h"
#include "netaddr.h"
#include "relay.h"
#include "strindex.h"
#include "util.h"
#include "xmalloc.h"

static const char *const conn_authfail_reasons[] = {"unknown_device", "revoked",
    "auth_failed"};
#define CONN_AUTHFAIL_NREASONS                                                 \
	(sizeof(conn_authfail_reasons) / sizeof(conn_authfail_reasons[0]))

/* A source's place in this interval. */
struct conn_authfail_slot {
	struct strlink link; /* in a->index; key: source */
	unsigned char source[NETADDR_SOURCE_MAX];
	unsigned said;
	struct codecount counted;
};

struct conn_authfail {
	struct relay *relay;
	struct event *timer; /* the interval's end, once one is counted */
	int64_t start_ms; /* monotonic, of the interval */
	unsigned said;
	struct strindex *index; /* the slots taken, by exact source */
	size_t nslots; /* taken in this interval */
	struct conn_authfail_slot slots[CONN_AUTHFAIL_SLOTS];
	struct codecount others; /* of sources that found none free */
};

/* The reasons in a fixed order in the records, whichever came first. */
static void
conn_authfail_name(struct codecount *cc)
{
	size_t i;

	for (i = 0; i < CONN_AUTHFAIL_NREASONS; i++)
		codecount_name(cc, conn_authfail_reasons[i]);
}

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
	/* never grows: it holds CONN_AUTHFAIL_SLOTS at most */
	a->index = strindex_new(CONN_AUTHFAIL_SLOTS);
	conn_authfail_name(&a->others);
	return a;
}

void
conn_authfail_free(struct conn_authfail *a)
{
	if (a == NULL)
		return;
	conn_authfail_flush(a);
	event_free(a->timer);
	strindex_free(a->index);
	free(a);
}

/* One record for what one source (NULL: the sources that found no place
 * free) had counted; how many that was. */
static unsigned long
conn_authfail_record(struct conn_authfail *a, const struct codecount *counted,
    const char *address)
{
	char counts[128], reason[192];

	if (counted->n == 0)
		return 0;
	/* "aggregate n=37 unknown_device=30 auth_failed=7 interval_s=60" */
	codecount_format(counted, "n", counts, sizeof(counts));
	snprintf(reason, sizeof(reason), "aggregate %s interval_s=%d%s", counts,
	    CONN_AUTHFAIL_INTERVAL_S,
	    address == NULL ? " sources=unnamed" : "");
	audit_relay(a->relay, "device.auth", "device:?", "refused", address,
	    "tls", "device:?", reason);
	return counted->n;
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
	for (i = 0; i < a->nslots; i++) {
		netaddr_source_name(a->slots[i].source, a->slots[i].link.len,
		    name, sizeof(name));
		one = conn_authfail_record(a, &a->slots[i].counted, name);
		n += one;
		sources += one > 0;
		strindex_remove(a->index, &a->slots[i].link);
	}
	one = conn_authfail_record(a, &a->others, NULL);
	n += one;
	sources += one > 0;
	if (n > 0)
		log_info("device authentications refused and not recorded one "
		         "by one: n=%lu records=%lu interval_s=%d",
		    n, sources, CONN_AUTHFAIL_INTERVAL_S);
	memset(a->slots, 0, a->nslots * sizeof(a->slots[0]));
	a->nslots = 0;
	codecount_clear(&a->others);
	conn_authfail_name(&a->others);
	a->said = 0;
	a->start_ms = monotonic_ms();
}

/* Its source's place, taken for it if one is free; NULL when every
 * place is taken in this interval. */
static struct conn_authfail_slot *
conn_authfail_slot(struct conn_authfail *a, const unsigned char *source,
    size_t len)
{
	struct strlink *l;
	struct conn_authfail_slot *s;

	if (len > NETADDR_SOURCE_MAX)
		len = NETADDR_SOURCE_MAX;
	if ((l = strindex_find(a->index, source, len)) != NULL)
		return l->owner;
	if (a->nslots >= CONN_AUTHFAIL_SLOTS)
		return NULL;
	s = &a->slots[a->nslots++];
	memcpy(s->source, source, len);
	s->link.key = s->source;
	s->link.owner = s;
	conn_authfail_name(&s->counted);
	strindex_add_key(a->index, &s->link, len);
	return s;
}

static const char *
conn_authfail_reason(const char *why)
{
	size_t i;

	for (i = 0; i + 1 < CONN_AUTHFAIL_NREASONS; i++)
		if (why != NULL && strcmp(why, conn_authfail_reasons[i]) == 0)
			return conn_authfail_reasons[i];
	return "auth_failed";
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
	codecount_add(s != NULL ? &s->counted : &a->others,
	    conn_authfail_reason(why));
	if (!evtimer_pending(a->timer, NULL)) {
		left = a->start_ms + CONN_AUTHFAIL_INTERVAL_S * 1000 - now;
		evtimer_add_ms(a->timer, left > 0 ? (long)left : 0);
	}
	return 0;
}
