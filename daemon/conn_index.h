/*
 * The authenticated connections of each device, found without walking
 * every connection: receipts arrive for one device at a time, and with
 * ten thousand devices connected a walk per receipt was most of the
 * relay's CPU time (make bench).  A fixed table of buckets, the device
 * id hashed with a secret key.
 */
#ifndef ALERTRELAY_CONN_INDEX_H
#define ALERTRELAY_CONN_INDEX_H

#include <sys/queue.h>

#include <stddef.h>

/* Embedded in each connection. */
struct conn_link {
	LIST_ENTRY(conn_link) entry;
	const char *device_id; /* the connection's own copy */
	void *owner; /* the struct conn */
	int linked;
};

struct conn_index;

struct conn_index *conn_index_new(size_t buckets);
void conn_index_free(struct conn_index *ix);
void conn_index_add(struct conn_index *ix, struct conn_link *l);
void conn_index_remove(struct conn_link *l);
/* The first, and the next, connection of device_id; NULL at the end. */
struct conn_link *conn_index_first(const struct conn_index *ix,
    const char *device_id);
struct conn_link *conn_index_next(struct conn_link *l);

#endif
