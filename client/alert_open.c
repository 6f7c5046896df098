/*
 * Opening a sealed alert at the recipient and checking the device's
 * signature (alert_open.h).
 */
#include <stdlib.h>
#include <string.h>

#include "alert_open.h"
#include "xmalloc.h"

int
alert_open(const unsigned char *ct, size_t ctlen,
    const unsigned char rpk[crypto_box_PUBLICKEYBYTES],
    const unsigned char *rsk,
    const unsigned char dpk[crypto_sign_PUBLICKEYBYTES], struct alert *a,
    const char **reason)
{
	unsigned char *sm, *m;
	unsigned long long mlen = 0;
	size_t smlen;
	char err[128];
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (ctlen < crypto_box_SEALBYTES + crypto_sign_BYTES + 2) {
		*reason = "cannot decrypt";
		return -1;
	}
	smlen = ctlen - crypto_box_SEALBYTES;
	sm = xmalloc(smlen);
	m = xmalloc(smlen);
	if (crypto_box_seal_open(sm, ct, ctlen, rpk, rsk) != 0)
		*reason = "cannot decrypt";
	else if (crypto_sign_open(m, &mlen, sm, smlen, dpk) != 0)
		*reason = "device signature does not verify";
	else if (alert_decode((char *)m, (size_t)mlen, a, err, sizeof(err)))
		*reason = "malformed inner alert";
	else
		rc = 0;
	/* Plaintext lives on only in *a. */
	sodium_memzero(sm, smlen);
	sodium_memzero(m, smlen);
	free(sm);
	free(m);
	return rc;
}
