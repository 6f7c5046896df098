/* Standard Webhooks signatures: signing and checking (webhook_sig.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "b64.h"
#include "webhook_sig.h"
#include "xmalloc.h"

static void
webhook_mac(const unsigned char *key, size_t keylen, const char *id,
    const char *timestamp, const char *body, size_t bodylen,
    unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)id,
	    strlen(id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp,
	    strlen(timestamp));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body,
	    bodylen);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

char *
webhook_sign(const unsigned char *key, size_t keylen, const char *id,
    const char *timestamp, const char *body, size_t bodylen)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char *b64, *out;

	webhook_mac(key, keylen, id, timestamp, body, bodylen, mac);
	b64 = b64_encode(mac, sizeof(mac));
	out = xasprintf("v1,%s", b64);
	free(b64);
	return out;
}

int
webhook_verify(const unsigned char *key, size_t keylen, const char *id,
    const char *timestamp, const char *body, size_t bodylen, const char *header)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	unsigned char got[crypto_auth_hmacsha256_BYTES];
	char *copy, *tok, *save = NULL;
	int rc = -1;

	webhook_mac(key, keylen, id, timestamp, body, bodylen, mac);
	copy = xstrdup(header);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, "v1,", 3) != 0)
			continue;
		if (b64_decode_exact(tok + 3, got, sizeof(got)) == 0 &&
		    sodium_memcmp(got, mac, sizeof(mac)) == 0)
			rc = 0;
	}
	free(copy);
	/* The expected MAC would sign the sender's body: never leave it. */
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(got, sizeof(got));
	return rc;
}
