/*
 * Objects by exact key, in buckets that grow (strindex.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyhash.h"
#include "strindex.h"
#include "xmalloc.h"

LIST_HEAD(strbucket, strlink);

struct strindex {
	size_t nbuckets;
	size_t n; /* entries linked */
	struct strbucket *buckets;
	struct keyhash key;
};

static struct strbucket *
strindex_buckets(size_t n)
{
	struct strbucket *b = xcalloc(n, sizeof(*b));
	size_t i;

	for (i = 0; i < n; i++)
		LIST_INIT(&b[i]);
	return b;
}

struct strindex *
strindex_new(size_t buckets)
{
	struct strindex *ix = xcalloc(1, sizeof(*ix));

	ix->nbuckets = buckets > 0 ? buckets : 1;
	ix->buckets = strindex_buckets(ix->nbuckets);
	keyhash_init(&ix->key);
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
strindex_bucket(const struct strindex *ix, const void *key, size_t len)
{
	return &ix->buckets[keyhash(&ix->key, key, len) % ix->nbuckets];
}

/* Twice the buckets: one entry per bucket on average again.  O(n), once
 * per doubling of the entries: O(1) per add, amortised. */
static void
strindex_grow(struct strindex *ix)
{
	size_t i, n = ix->nbuckets * 2;
	struct strbucket *b = strindex_buckets(n);
	struct strlink *l;

	for (i = 0; i < ix->nbuckets; i++)
		while ((l = LIST_FIRST(&ix->buckets[i])) != NULL) {
			LIST_REMOVE(l, entry);
			LIST_INSERT_HEAD(&b[keyhash(&ix->key, l->key, l->len) %
			                     n],
			    l, entry);
		}
	free(ix->buckets);
	ix->buckets = b;
	ix->nbuckets = n;
}

void
strindex_add_key(struct strindex *ix, struct strlink *l, size_t len)
{
	if (ix->n >= ix->nbuckets)
		strindex_grow(ix);
	l->len = (unsigned)len;
	LIST_INSERT_HEAD(strindex_bucket(ix, l->key, len), l, entry);
	l->linked = 1;
	ix->n++;
}

void
strindex_add(struct strindex *ix, struct strlink *l)
{
	strindex_add_key(ix, l, strlen(l->key));
}

void
strindex_remove(struct strindex *ix, struct strlink *l)
{
	if (!l->linked)
		return;
	LIST_REMOVE(l, entry);
	l->linked = 0;
	ix->n--;
}

/* The bucket's entries from l on that belong to key. */
static struct strlink *
strindex_match(struct strlink *l, const void *key, size_t len)
{
	while (l != NULL && (l->len != len || memcmp(l->key, key, len) != 0))
		l = LIST_NEXT(l, entry);
	return l;
}

struct strlink *
strindex_find(const struct strindex *ix, const void *key, size_t len)
{
	return strindex_match(LIST_FIRST(strindex_bucket(ix, key, len)), key,
	    len);
}

struct strlink *
strindex_first(const struct strindex *ix, const char *key)
{
	return strindex_find(ix, key, strlen(key));
}

struct strlink *
strindex_next(struct strlink *l)
{
	return strindex_match(LIST_NEXT(l, entry), l->key, l->len);
}
