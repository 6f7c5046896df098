/*
 * A chained hash table for lookups plus a ring for first-in first-out
 * eviction.  The hash is keyed SipHash with a random key: webhook ids
 * come from the network, and must not be able to pile into one bucket.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyhash.h"
#include "seen.h"
#include "xmalloc.h"

struct seen_node {
	struct seen_node *next;
	char id[]; /* NUL-terminated */
};

struct seen {
	struct seen_node **buckets;
	size_t nbuckets; /* a power of two */
	struct seen_node **ring;
	size_t cap, head, count;
	struct keyhash key;
};

static size_t
seen_bucket(const struct seen *s, const char *id)
{
	return (size_t)(keyhash(&s->key, id, strlen(id)) & (s->nbuckets - 1));
}

struct seen *
seen_new(size_t cap)
{
	struct seen *s = xcalloc(1, sizeof(*s));

	s->cap = cap;
	s->nbuckets = 1;
	while (s->nbuckets < cap)
		s->nbuckets <<= 1;
	s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
	s->ring = xcalloc(cap, sizeof(*s->ring));
	keyhash_init(&s->key);
	return s;
}

int
seen_has(const struct seen *s, const char *id)
{
	const struct seen_node *n;

	for (n = s->buckets[seen_bucket(s, id)]; n != NULL; n = n->next)
		if (strcmp(n->id, id) == 0)
			return 1;
	return 0;
}

static void
seen_unlink(struct seen *s, struct seen_node *victim)
{
	struct seen_node **pp = &s->buckets[seen_bucket(s, victim->id)];

	while (*pp != NULL && *pp != victim)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = victim->next;
	free(victim);
}

void
seen_add(struct seen *s, const char *id)
{
	size_t len = strlen(id), b;
	struct seen_node *n;

	if (seen_has(s, id))
		return;
	if (s->count == s->cap) {
		seen_unlink(s, s->ring[s->head]);
		s->head = (s->head + 1) % s->cap;
		s->count--;
	}
	n = xmalloc(sizeof(*n) + len + 1);
	memcpy(n->id, id, len + 1);
	b = seen_bucket(s, id);
	n->next = s->buckets[b];
	s->buckets[b] = n;
	s->ring[(s->head + s->count) % s->cap] = n;
	s->count++;
}

void
seen_free(struct seen *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->count; i++)
		free(s->ring[(s->head + i) % s->cap]);
	free(s->ring);
	free(s->buckets);
	free(s);
}

size_t
seen_count(const struct seen *s)
{
	return s->count;
}

const char *
seen_at(const struct seen *s, size_t i)
{
	return i < s->count ? s->ring[(s->head + i) % s->cap]->id : NULL;
}
