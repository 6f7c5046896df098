/*
 * An index of objects by a string key (a device id, a stream id), so a
 * lookup does not walk every object: with ten thousand devices connected,
 * walking every connection per receipt, and every delivery in flight per
 * entry read, were most of the relay's CPU time (make bench).  A fixed
 * table of buckets; keys are hashed with a secret key, so nobody can aim
 * many keys at one bucket.  Several objects may share a key.
 */
#ifndef ALERTRELAY_STRINDEX_H
#define ALERTRELAY_STRINDEX_H

#include <sys/queue.h>

#include <stddef.h>

/* Embedded in each indexed object. */
struct strlink {
	LIST_ENTRY(strlink) entry;
	const char *key; /* the object's own copy, alive while linked */
	void *owner;
	int linked;
};

struct strindex;

struct strindex *strindex_new(size_t buckets);
void strindex_free(struct strindex *ix);
void strindex_add(struct strindex *ix, struct strlink *l);
void strindex_remove(struct strlink *l);
/* The first, and the next, object with this key; NULL at the end. */
struct strlink *strindex_first(const struct strindex *ix, const char *key);
struct strlink *strindex_next(struct strlink *l);

#endif
