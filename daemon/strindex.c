/*
 * Objects by string key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "strindex.h"
#include "xmalloc.h"

LIST_HEAD(strbucket, strlink);

struct strindex {
	size_t nbuckets;
	struct strbucket *buckets;
	unsigned char key[crypto_shorthash_KEYBYTES];
};

struct strindex *
strindex_new(size_t buckets)
{
	struct strindex *ix = xcalloc(1, sizeof(*ix));
	size_t i;

	ix->nbuckets = buckets;
	ix->buckets = xcalloc(buckets, sizeof(*ix->buckets));
	for (i = 0; i < buckets; i++)
		LIST_INIT(&ix->buckets[i]);
	crypto_shorthash_keygen(ix->key);
	return ix;
}

void
strindex_free(struct strindex *ix)
{
	if (ix == NULL)
		return;
	free(ix->buckets);
	free(ix);
}

static struct strbucket *
strindex_bucket(const struct strindex *ix, const char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)key, strlen(key), ix->key);
	memcpy(&v, h, sizeof(v));
	return &ix->buckets[v % ix->nbuckets];
}

void
strindex_add(struct strindex *ix, struct strlink *l)
{
	LIST_INSERT_HEAD(strindex_bucket(ix, l->key), l, entry);
	l->linked = 1;
}

void
strindex_remove(struct strlink *l)
{
	if (!l->linked)
		return;
	LIST_REMOVE(l, entry);
	l->linked = 0;
}

/* The bucket's entries from l on that belong to key. */
static struct strlink *
strindex_match(struct strlink *l, const char *key)
{
	while (l != NULL && strcmp(l->key, key) != 0)
		l = LIST_NEXT(l, entry);
	return l;
}

struct strlink *
strindex_first(const struct strindex *ix, const char *key)
{
	return strindex_match(LIST_FIRST(strindex_bucket(ix, key)), key);
}

struct strlink *
strindex_next(struct strlink *l)
{
	return strindex_match(LIST_NEXT(l, entry), l->key);
}
