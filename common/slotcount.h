/*
 * Counters per key (a source address) in a fixed table, like the token
 * buckets of ratelimit.h: memory stays bounded whatever an attacker
 * sends, and keys that collide share a counter, which only makes a cap
 * stricter for them.  The key is hashed with a secret, so nobody can aim
 * many sources at one counter.
 */
#ifndef ALERTRELAY_SLOTCOUNT_H
#define ALERTRELAY_SLOTCOUNT_H

#include <stddef.h>

struct slotcount;

struct slotcount *slotcount_new(size_t slots);
void slotcount_free(struct slotcount *sc);
/* The counter a key uses; keep it to give back what was taken. */
size_t slotcount_slot(const struct slotcount *sc, const void *key, size_t len);
/* Takes one from slot unless it already holds cap: 1 taken, 0 full. */
int slotcount_take(struct slotcount *sc, size_t slot, unsigned cap);
void slotcount_give(struct slotcount *sc, size_t slot);
/* What slot holds now. */
unsigned slotcount_held(const struct slotcount *sc, size_t slot);

#endif
