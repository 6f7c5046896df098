/*
 * A key's hash under a secret of its own (SipHash, crypto_shorthash), for
 * the tables that others' input fills (source addresses, ids, numbers):
 * nobody who does not know the secret can aim many keys at one bucket.
 */
#ifndef ALERTRELAY_KEYHASH_H
#define ALERTRELAY_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

struct keyhash {
	unsigned char secret[crypto_shorthash_KEYBYTES];
};

/* A new random secret. */
void keyhash_init(struct keyhash *kh);
uint64_t keyhash(const struct keyhash *kh, const void *key, size_t len);

#endif
