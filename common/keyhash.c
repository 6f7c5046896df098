/*
 * Keyed hashes for tables (keyhash.h).
 */
#include <string.h>

#include "keyhash.h"

void
keyhash_init(struct keyhash *kh)
{
	crypto_shorthash_keygen(kh->secret);
}

uint64_t
keyhash(const struct keyhash *kh, const void *key, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, len, kh->secret);
	memcpy(&v, h, sizeof(v));
	return v;
}
