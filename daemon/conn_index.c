/*
 * Connections by device.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conn_index.h"
#include "xmalloc.h"

LIST_HEAD(conn_bucket, conn_link);

struct conn_index {
	size_t nbuckets;
	struct conn_bucket *buckets;
	unsigned char key[crypto_shorthash_KEYBYTES];
};

struct conn_index *
conn_index_new(size_t buckets)
{
	struct conn_index *ix = xcalloc(1, sizeof(*ix));
	size_t i;

	ix->nbuckets = buckets;
	ix->buckets = xcalloc(buckets, sizeof(*ix->buckets));
	for (i = 0; i < buckets; i++)
		LIST_INIT(&ix->buckets[i]);
	crypto_shorthash_keygen(ix->key);
	return ix;
}

void
conn_index_free(struct conn_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->buckets);
	free(ix);
}

static struct conn_bucket *
conn_index_bucket(const struct conn_index *ix, const char *device_id)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)device_id, strlen(device_id),
	    ix->key);
	memcpy(&v, h, sizeof(v));
	return &ix->buckets[v % ix->nbuckets];
}

void
conn_index_add(struct conn_index *ix, struct conn_link *l)
{
	LIST_INSERT_HEAD(conn_index_bucket(ix, l->device_id), l, entry);
	l->linked = 1;
}

void
conn_index_remove(struct conn_link *l)
{
	if (!l->linked)
		return;
	LIST_REMOVE(l, entry);
	l->linked = 0;
}

/* The bucket's entries from l on that belong to device_id. */
static struct conn_link *
conn_index_match(struct conn_link *l, const char *device_id)
{
	while (l != NULL && strcmp(l->device_id, device_id) != 0)
		l = LIST_NEXT(l, entry);
	return l;
}

struct conn_link *
conn_index_first(const struct conn_index *ix, const char *device_id)
{
	return conn_index_match(LIST_FIRST(conn_index_bucket(ix, device_id)),
	    device_id);
}

struct conn_link *
conn_index_next(struct conn_link *l)
{
	return conn_index_match(LIST_NEXT(l, entry), l->device_id);
}
