/*
 * Unauthenticated device connections by source, and the one that gives
 * way to a newcomer (conn_unauth.h).
 */
#include "conn_int.h"
#include "conn_unauth.h"

#define CHAINS_MIN 1024 /* grows with the sources, never shrinks */

TAILQ_HEAD(conn_list, conn);

struct unauth_source {
	struct unauth_source *chain; /* next in its hash chain */
	struct unauth_source *prev, *next; /* in the list of its count */
	struct conn_list conns; /* oldest first */
	unsigned n;
	size_t len;
	unsigned char key[NETADDR_SOURCE_MAX];
};

/* The sources holding one count, those that came to it first first. */
struct unauth_level {
	struct unauth_source *first, *last;
};

struct conn_unauth {
	struct unauth_source **chains;
	size_t mask; /* the number of chains, a power of two, less one */
	size_t nsources;
	struct unauth_level *levels; /* levels[n]; [0] unused */
	size_t nlevels;
	unsigned top; /* the highest count a source holds; 0: none */
	unsigned char hashkey[crypto_shorthash_KEYBYTES];
};

/* Lines about connections closed for newcomers: attackers choose how
 * many (log_budget.h). */
static struct log_budget conn_unauth_log =
    {"unauthenticated connections closed to make room", 0, 0, 0};

struct conn_unauth *
conn_unauth_new(void)
{
	struct conn_unauth *u = xcalloc(1, sizeof(*u));

	u->mask = CHAINS_MIN - 1;
	u->chains = xcalloc(CHAINS_MIN, sizeof(*u->chains));
	u->nlevels = 64;
	u->levels = xcalloc(u->nlevels, sizeof(*u->levels));
	crypto_shorthash_keygen(u->hashkey);
	return u;
}

void
conn_unauth_free(struct conn_unauth *u)
{
	if (u == NULL)
		return;
	free(u->chains);
	free(u->levels);
	free(u);
}

static size_t
conn_unauth_hash(const struct conn_unauth *u, const unsigned char *key,
    size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, len, u->hashkey);
	memcpy(&v, h, sizeof(v));
	return (size_t)v;
}

static struct unauth_source *
conn_unauth_find(const struct conn_unauth *u, const unsigned char *key,
    size_t len)
{
	struct unauth_source *s;

	s = u->chains[conn_unauth_hash(u, key, len) & u->mask];
	for (; s != NULL; s = s->chain)
		if (s->len == len && memcmp(s->key, key, len) == 0)
			return s;
	return NULL;
}

unsigned
conn_unauth_held(const struct conn_unauth *u, const unsigned char *key,
    size_t len)
{
	const struct unauth_source *s = conn_unauth_find(u, key, len);

	return s != NULL ? s->n : 0;
}

/* Twice the chains once there are more sources than chains: a chain
 * then holds one source on average, whatever the peak was. */
static void
conn_unauth_grow(struct conn_unauth *u)
{
	size_t i, h, n = (u->mask + 1) * 2;
	struct unauth_source **chains = xcalloc(n, sizeof(*chains));
	struct unauth_source *s, *next;

	for (i = 0; i <= u->mask; i++)
		for (s = u->chains[i]; s != NULL; s = next) {
			next = s->chain;
			h = conn_unauth_hash(u, s->key, s->len) & (n - 1);
			s->chain = chains[h];
			chains[h] = s;
		}
	free(u->chains);
	u->chains = chains;
	u->mask = n - 1;
}

static struct unauth_source *
conn_unauth_source(struct conn_unauth *u, const unsigned char *key, size_t len)
{
	struct unauth_source *s = conn_unauth_find(u, key, len), **chain;

	if (s != NULL)
		return s;
	if (u->nsources >= u->mask + 1)
		conn_unauth_grow(u);
	s = xcalloc(1, sizeof(*s));
	TAILQ_INIT(&s->conns);
	memcpy(s->key, key, len);
	s->len = len;
	chain = &u->chains[conn_unauth_hash(u, key, len) & u->mask];
	s->chain = *chain;
	*chain = s;
	u->nsources++;
	return s;
}

static void
conn_unauth_forget(struct conn_unauth *u, struct unauth_source *s)
{
	struct unauth_source **p;

	p = &u->chains[conn_unauth_hash(u, s->key, s->len) & u->mask];
	while (*p != s)
		p = &(*p)->chain;
	*p = s->chain;
	u->nsources--;
	free(s);
}

/* Out of the list of its count. */
static void
conn_unauth_unlevel(struct conn_unauth *u, struct unauth_source *s)
{
	struct unauth_level *l = &u->levels[s->n];

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		l->first = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	else
		l->last = s->prev;
	s->prev = s->next = NULL;
}

/* Last in the list of its count; the highest count kept. */
static void
conn_unauth_level(struct conn_unauth *u, struct unauth_source *s)
{
	struct unauth_level *l;
	size_t n = u->nlevels;

	if (s->n >= n) {
		while (n <= s->n)
			n *= 2;
		u->levels = xreallocarray(u->levels, n, sizeof(*u->levels));
		memset(u->levels + u->nlevels, 0,
		    (n - u->nlevels) * sizeof(*u->levels));
		u->nlevels = n;
	}
	l = &u->levels[s->n];
	s->prev = l->last;
	if (l->last != NULL)
		l->last->next = s;
	else
		l->first = s;
	l->last = s;
	if (s->n > u->top)
		u->top = s->n;
}

void
conn_unauth_add(struct relay *relay, struct conn *c)
{
	struct conn_unauth *u = relay->unauth;
	struct unauth_source *s;

	s = conn_unauth_source(u, c->source, c->source_len);
	if (s->n > 0)
		conn_unauth_unlevel(u, s);
	s->n++;
	conn_unauth_level(u, s);
	TAILQ_INSERT_TAIL(&s->conns, c, unauth_entry);
	c->unauth_src = s;
	relay->nunauth++;
}

void
conn_unauth_remove(struct relay *relay, struct conn *c)
{
	struct conn_unauth *u = relay->unauth;
	struct unauth_source *s = c->unauth_src;

	if (s == NULL)
		return;
	TAILQ_REMOVE(&s->conns, c, unauth_entry);
	c->unauth_src = NULL;
	relay->nunauth--;
	conn_unauth_unlevel(u, s);
	s->n--;
	if (s->n > 0)
		conn_unauth_level(u, s);
	/* Down by one at most: the source came down from the top to the
	 * count below, or was the last one. */
	while (u->top > 0 && u->levels[u->top].first == NULL)
		u->top--;
	if (s->n == 0)
		conn_unauth_forget(u, s);
}

int
conn_unauth_evict(struct relay *relay, const char *cap, long limit)
{
	struct conn_unauth *u = relay->unauth;
	unsigned held = u->top;
	struct conn *c;

	if (held == 0)
		return 0;
	c = TAILQ_FIRST(&u->levels[held].first->conns);
	metrics.unauth_evicted++;
	if (log_budget_take(&conn_unauth_log))
		log_info("conn %llu (%s): closed to make room for a new "
		         "connection: %s=%ld reached, its source held %u not "
		         "authenticated",
		    c->id, c->peer, cap, limit, held);
	/* Not inside c's own callbacks: the listener's. */
	conn_free(c);
	return 1;
}
