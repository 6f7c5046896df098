/*
 * libFuzzer target: an outbox entry as alertctl reads it back from disk
 * (client/outbox.c), which whoever can write the device's state
 * directory controls.  First byte even: the input is the stored file.
 * Odd: the input is an envelope, which the harness signs with its own
 * device key and stores as alertctl would, so the fuzzer reaches the
 * envelope's parser behind the signature check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "b64.h"
#include "envelope.h"
#include "outbox.h"

static json_t *
fuzz_signed_entry(const char *env, size_t len,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
	unsigned char sig[crypto_sign_BYTES];
	json_t *e = json_stringn(env, len), *o;
	char *sig64;

	if (e == NULL)
		return NULL; /* not UTF-8: alertctl never stores that */
	envelope_sign(env, len, sk, sig);
	sig64 = b64_encode(sig, sizeof(sig));
	o = json_pack("{s:i, s:s, s:o, s:s, s:b}", "v", 1, "mac", "00",
	    "envelope", e, "sig", sig64, "track", 1);
	free(sig64);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char pk[crypto_sign_PUBLICKEYBYTES],
	    sk[crypto_sign_SECRETKEYBYTES];
	static const unsigned char seed[crypto_sign_SEEDBYTES] = {7};
	static int ready;
	struct sealed_alert s;
	json_error_t jerr;
	json_t *o;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		crypto_sign_seed_keypair(pk, sk, seed);
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1)
		o = fuzz_signed_entry((const char *)data + 1, size - 1, sk);
	else
		o = json_loadb((const char *)data + 1, size - 1,
		    JSON_REJECT_DUPLICATES, &jerr);
	memset(&s, 0, sizeof(s));
	if (o != NULL && outbox_entry_parse(o, pk, &s))
		alert_seal_free(&s);
	json_decref(o);
	return 0;
}
