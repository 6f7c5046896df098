/*
 * An index of objects by a key, a string (a device id, a stream id) or
 * bytes (a source address, conn_unauth.h), so a lookup does not walk
 * every object: with ten thousand devices connected, walking every
 * connection per receipt, and every delivery in flight per entry read,
 * were most of the relay's CPU time (make bench).  Keys are exact: two
 * keys never share an entry, whatever their hash.  They are hashed with
 * a secret key, so nobody can aim many keys at one bucket, and the
 * buckets double once there are more entries than buckets (never
 * shrinking), so a lookup stays O(1) whatever the peak.  Several objects
 * may share a key.
 */
#ifndef ALERTRELAY_STRINDEX_H
#define ALERTRELAY_STRINDEX_H

#include <sys/queue.h>

#include <stddef.h>

/* Embedded in each indexed object. */
struct strlink {
	LIST_ENTRY(strlink) entry;
	const void *key; /* the object's own copy, alive while linked */
	void *owner;
	unsigned len; /* of key, in bytes */
	int linked;
};

struct strindex;

struct strindex *strindex_new(size_t buckets);
void strindex_free(struct strindex *ix);
/* l->key is a string. */
void strindex_add(struct strindex *ix, struct strlink *l);
/* l->key is len bytes. */
void strindex_add_key(struct strindex *ix, struct strlink *l, size_t len);
/* A no-op for a link not in the index. */
void strindex_remove(struct strindex *ix, struct strlink *l);
/* The first object with this key, string or len bytes; NULL if none. */
struct strlink *strindex_first(const struct strindex *ix, const char *key);
struct strlink *strindex_find(const struct strindex *ix, const void *key,
    size_t len);
/* The next object with l's key; NULL at the end. */
struct strlink *strindex_next(struct strlink *l);

#endif
