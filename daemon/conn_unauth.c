/*
 * Unauthenticated device connections by source and IPv6 /48, and the one
 * that gives way to a newcomer (conn_unauth.h).
 */
#include <stddef.h>

#include "conn_int.h"
#include "conn_unauth.h"
#include "tally.h"

#define UNAUTH_INDEX_MIN 64 /* buckets; they double with the entries */
#define UNAUTH_PREFIX48 6 /* bytes of an IPv6 /48: its key */

TAILQ_HEAD(conn_list, conn);

/* An IPv4 address or an IPv6 /64 (a source), or an IPv6 /48; in the
 * index while it holds one. */
struct unauth_source {
	struct strlink link; /* in u->index; key: key, link.len bytes */
	struct tally_item item; /* in its /48's tally, else in u->top */
	struct unauth_source *group; /* a /64's /48; else NULL */
	union {
		struct conn_list conns; /* a source's, oldest first */
		struct tally sources; /* a /48's /64s */
	};
	unsigned char key[NETADDR_SOURCE_MAX];
};

struct conn_unauth {
	struct strindex *index; /* sources and /48s, by exact key */
	struct tally top; /* IPv4 addresses and IPv6 /48s */
};

/* Lines about connections closed for newcomers: attackers choose how
 * many (log_budget.h). */
static struct log_budget conn_unauth_log =
    {"unauthenticated connections closed to make room", 0, 0, 0};

struct conn_unauth *
conn_unauth_new(void)
{
	struct conn_unauth *u = xcalloc(1, sizeof(*u));

	/* keyed with its own secret: nobody can aim sources at a bucket */
	u->index = strindex_new(UNAUTH_INDEX_MIN);
	return u;
}

void
conn_unauth_free(struct conn_unauth *u)
{
	if (u == NULL)
		return;
	strindex_free(u->index);
	tally_free(&u->top);
	free(u);
}

static int
conn_unauth_is_group(const struct unauth_source *s)
{
	return s->link.len == UNAUTH_PREFIX48;
}

static struct unauth_source *
conn_unauth_of(struct tally_item *it)
{
	if (it == NULL)
		return NULL;
	return (struct unauth_source *)((char *)it -
	    offsetof(struct unauth_source, item));
}

/* The tally s is counted in. */
static struct tally *
conn_unauth_tally(struct conn_unauth *u, struct unauth_source *s)
{
	return s->group != NULL ? &s->group->sources : &u->top;
}

static struct unauth_source *
conn_unauth_find(const struct conn_unauth *u, const unsigned char *key,
    size_t len)
{
	struct strlink *l = strindex_find(u->index, key, len);

	return l != NULL ? l->owner : NULL;
}

unsigned
conn_unauth_held(const struct conn_unauth *u, const unsigned char *key,
    size_t len)
{
	const struct unauth_source *s = conn_unauth_find(u, key, len);

	return s != NULL ? s->item.n : 0;
}

/* The entry for key (of a source, or a /48: len UNAUTH_PREFIX48), made
 * if there is none. */
static struct unauth_source *
conn_unauth_get(struct conn_unauth *u, const unsigned char *key, size_t len,
    struct unauth_source *group)
{
	struct unauth_source *s = conn_unauth_find(u, key, len);

	if (s != NULL)
		return s;
	s = xcalloc(1, sizeof(*s));
	memcpy(s->key, key, len);
	s->link.key = s->key;
	s->link.owner = s;
	s->group = group;
	if (len != UNAUTH_PREFIX48)
		TAILQ_INIT(&s->conns);
	strindex_add_key(u->index, &s->link, len);
	return s;
}

/* Gone once it holds none. */
static void
conn_unauth_put(struct conn_unauth *u, struct unauth_source *s)
{
	if (s == NULL || s->item.n > 0)
		return;
	strindex_remove(u->index, &s->link);
	if (conn_unauth_is_group(s))
		tally_free(&s->sources);
	free(s);
}

void
conn_unauth_add(struct relay *relay, struct conn *c)
{
	struct conn_unauth *u = relay->unauth;
	struct unauth_source *g = NULL, *s;

	/* an IPv6 /64 (netaddr.h) is counted in its /48 too */
	if (c->source_len == NETADDR_SOURCE_MAX)
		g = conn_unauth_get(u, c->source, UNAUTH_PREFIX48, NULL);
	s = conn_unauth_get(u, c->source, c->source_len, g);
	tally_up(conn_unauth_tally(u, s), &s->item);
	if (g != NULL)
		tally_up(&u->top, &g->item);
	TAILQ_INSERT_TAIL(&s->conns, c, unauth_entry);
	c->unauth_src = s;
	relay->nunauth++;
}

void
conn_unauth_remove(struct relay *relay, struct conn *c)
{
	struct conn_unauth *u = relay->unauth;
	struct unauth_source *s = c->unauth_src, *g;

	if (s == NULL)
		return;
	g = s->group;
	TAILQ_REMOVE(&s->conns, c, unauth_entry);
	c->unauth_src = NULL;
	relay->nunauth--;
	tally_down(conn_unauth_tally(u, s), &s->item);
	if (g != NULL)
		tally_down(&u->top, &g->item);
	conn_unauth_put(u, s);
	conn_unauth_put(u, g);
}

int
conn_unauth_evict(struct relay *relay, const char *cap, long limit)
{
	struct conn_unauth *u = relay->unauth;
	struct unauth_source *s = conn_unauth_of(tally_top(&u->top));
	char wide[32] = "";
	struct conn *c;

	if (s == NULL)
		return 0;
	/* the /48 holding the most gives way by its /64 holding the most */
	if (conn_unauth_is_group(s)) {
		snprintf(wide, sizeof(wide), ", its /48 %u", s->item.n);
		s = conn_unauth_of(tally_top(&s->sources));
	}
	c = TAILQ_FIRST(&s->conns);
	metrics.unauth_evicted++;
	if (log_budget_take(&conn_unauth_log))
		log_info("conn %llu (%s): closed to make room for a new "
		         "connection: %s=%ld reached, its source held %u not "
		         "authenticated%s",
		    c->id, c->peer, cap, limit, s->item.n, wide);
	/* Not inside c's own callbacks: the listener's. */
	conn_free(c);
	return 1;
}
