/* Secret keys in guarded memory (seckey.h). */
#include <sodium.h>

#include "keyfile.h"
#include "log.h"
#include "seckey.h"

unsigned char *
seckey_alloc(size_t len)
{
	unsigned char *key = sodium_malloc(len);

	if (key == NULL)
		log_fatal("sodium_malloc");
	return key;
}

unsigned char *
seckey_load(const char *path, size_t len, char *err, size_t errlen)
{
	unsigned char *key = seckey_alloc(len);

	if (keyfile_read(path, key, len, 1, err, errlen) != 0) {
		sodium_free(key);
		return NULL;
	}
	seckey_lock(key);
	return key;
}

void
seckey_lock(unsigned char *key)
{
	if (sodium_mprotect_readonly(key) != 0)
		log_warn("sodium_mprotect_readonly");
}

void
seckey_free(unsigned char *key)
{
	/* sodium_free wipes; it also lifts the read-only protection. */
	if (key != NULL)
		sodium_free(key);
}

int
seckey_ed25519_valid(const unsigned char *sk)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *again = seckey_alloc(crypto_sign_SECRETKEYBYTES);
	int ok;

	crypto_sign_seed_keypair(pk, again, sk);
	ok = sodium_memcmp(pk, sk + crypto_sign_SEEDBYTES, sizeof(pk)) == 0;
	seckey_free(again);
	return ok;
}
