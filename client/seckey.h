/*
 * Secret keys in guarded memory: sodium_malloc'd (guard pages, wiped on
 * free) and read-only once loaded.
 */
#ifndef ALERTCTL_SECKEY_H
#define ALERTCTL_SECKEY_H

#include <stddef.h>

/* Writable guarded buffer of len bytes; dies when out of memory. */
unsigned char *seckey_alloc(size_t len);
/* Reads a secret key file (mode must be 0600) of exactly len bytes. */
unsigned char *seckey_load(const char *path, size_t len, char *err,
    size_t errlen);
/* Makes the key read-only: a stray write now faults instead of
 * corrupting it. */
void seckey_lock(unsigned char *key);
void seckey_free(unsigned char *key);
/* 1 when a 64-byte Ed25519 secret key (seed, public key) is whole: the
 * public half is the one its seed gives.  A key file cut or pasted
 * together would otherwise sign with a key nobody can verify. */
int seckey_ed25519_valid(const unsigned char *sk);

#endif
