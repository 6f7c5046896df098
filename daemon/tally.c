/*
 * Counts in one list per count (tally.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tally.h"
#include "xmalloc.h"

#define TALLY_LEVELS_MIN 2 /* [0] unused, [1]: most hold one */

void
tally_free(struct tally *t)
{
	free(t->levels);
	memset(t, 0, sizeof(*t));
}

/* Out of the list of its count. */
static void
tally_unlevel(struct tally *t, struct tally_item *it)
{
	struct tally_level *l = &t->levels[it->n];

	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		l->first = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		l->last = it->prev;
	it->prev = it->next = NULL;
}

/* Lists up to count n: doubled, so O(1) per count, amortised. */
static void
tally_reach(struct tally *t, unsigned n)
{
	size_t want = t->nlevels > 0 ? t->nlevels : TALLY_LEVELS_MIN;

	if (n < t->nlevels)
		return;
	while (want <= n)
		want *= 2;
	t->levels = xreallocarray(t->levels, want, sizeof(*t->levels));
	memset(t->levels + t->nlevels, 0,
	    (want - t->nlevels) * sizeof(*t->levels));
	t->nlevels = want;
}

/* Last in the list of its count; the highest count kept. */
static void
tally_level(struct tally *t, struct tally_item *it)
{
	struct tally_level *l;

	tally_reach(t, it->n);
	l = &t->levels[it->n];
	it->prev = l->last;
	if (l->last != NULL)
		l->last->next = it;
	else
		l->first = it;
	l->last = it;
	if (it->n > t->top)
		t->top = it->n;
}

void
tally_up(struct tally *t, struct tally_item *it)
{
	if (it->n > 0)
		tally_unlevel(t, it);
	it->n++;
	tally_level(t, it);
}

void
tally_down(struct tally *t, struct tally_item *it)
{
	tally_unlevel(t, it);
	it->n--;
	if (it->n > 0)
		tally_level(t, it);
	/* Down by one at most: the item came down from the top to the
	 * count below, or was the last one. */
	while (t->top > 0 && t->levels[t->top].first == NULL)
		t->top--;
}

struct tally_item *
tally_top(const struct tally *t)
{
	return t->top > 0 ? t->levels[t->top].first : NULL;
}
