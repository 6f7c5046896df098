/*
 * Items kept in one list per count, the highest count known: which item
 * holds the most, and among those that hold as many the one that came to
 * hold that many first, in O(1) as counts go up and down by one.  The
 * unauthenticated connections' sources and their IPv6 /48s use it
 * (conn_unauth.h).
 */
#ifndef ALERTRELAY_TALLY_H
#define ALERTRELAY_TALLY_H

#include <stddef.h>

/* Embedded in each counted object. */
struct tally_item {
	struct tally_item *prev, *next; /* in the list of its count */
	unsigned n; /* its count; 0: in no list */
};

struct tally_level {
	struct tally_item *first, *last;
};

/* All zero is an empty tally; its lists are made as counts reach them. */
struct tally {
	struct tally_level *levels; /* levels[n]; [0] unused */
	size_t nlevels;
	unsigned top; /* the highest count an item holds; 0: none */
};

/* With every item down to 0. */
void tally_free(struct tally *t);
/* One more, or one less (it must hold one), for it. */
void tally_up(struct tally *t, struct tally_item *it);
void tally_down(struct tally *t, struct tally_item *it);
/* The item holding the most, the first to hold that many; NULL if none. */
struct tally_item *tally_top(const struct tally *t);

#endif
