/*
 * Bounded per-key counters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyhash.h"
#include "slotcount.h"
#include "xmalloc.h"

struct slotcount {
	size_t slots;
	unsigned *n;
	struct keyhash key;
};

struct slotcount *
slotcount_new(size_t slots)
{
	struct slotcount *sc = xcalloc(1, sizeof(*sc));

	sc->slots = slots;
	sc->n = xcalloc(slots, sizeof(*sc->n));
	keyhash_init(&sc->key);
	return sc;
}

void
slotcount_free(struct slotcount *sc)
{
	if (sc == NULL)
		return;
	free(sc->n);
	free(sc);
}

size_t
slotcount_slot(const struct slotcount *sc, const void *key, size_t len)
{
	return (size_t)(keyhash(&sc->key, key, len) % sc->slots);
}

int
slotcount_take(struct slotcount *sc, size_t slot, unsigned cap)
{
	if (sc->n[slot] >= cap)
		return 0;
	sc->n[slot]++;
	return 1;
}

void
slotcount_give(struct slotcount *sc, size_t slot)
{
	if (sc->n[slot] > 0)
		sc->n[slot]--;
}

unsigned
slotcount_held(const struct slotcount *sc, size_t slot)
{
	return sc->n[slot];
}
