/*
 * libFuzzer target: the signed cancel and acknowledgement statement in
 * a relay notice (client/notice_verify.c), as alertconsole and
 * `alertctl receive` check them in an alert.cancelled or
 * alert.acknowledged webhook body, and the same signed cancel in a
 * "cancelled" receipt, as the device checks it (client/cancel_receipt.c);
 * both decode it through client/signed_cancel.c.  Whoever holds the
 * webhook secret (a relay taken over) writes the whole body, and a
 * relay every receipt.  The keys are a directory of
 * fixed seeds: device "dev-a" (active, with a retired key), "dev-r"
 * (revoked) and recipient "contactpunt" with a signing key, so that the
 * seed corpus carries real signatures.  The harness's own check: a
 * revoked device's cancel never counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ack_statement.h"
#include "b64.h"
#include "cancel_receipt.h"
#include "frame.h"
#include "notice_verify.h"

/* The public key of the seed filled with byte b. */
static void
fuzz_notice_raw_pk(unsigned char b,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	unsigned char seed[crypto_sign_SEEDBYTES],
	    sk[crypto_sign_SECRETKEYBYTES];

	memset(seed, b, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
}

/* The same in base64. */
static char *
fuzz_notice_pk(unsigned char b)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];

	fuzz_notice_raw_pk(b, pk);
	return b64_encode(pk, sizeof(pk));
}

/* The directory, parsed rather than signed: its path names no file,
 * so it is never re-read. */
static int
fuzz_notice_keys(struct hook_keys *k)
{
	char *a = fuzz_notice_pk(1), *old = fuzz_notice_pk(2),
	     *r = fuzz_notice_pk(3), *s = fuzz_notice_pk(4), json[2048],
	     err[256];
	int n;

	n = snprintf(json, sizeof(json),
	    "{\"version\":1,\"issued_at\":\"2026-01-01T00:00:00Z\","
	    "\"relays\":[],\"relay_pins\":[],\"devices\":["
	    "{\"id\":\"dev-a\",\"alias\":\"A\",\"public_key\":\"%s\","
	    "\"status\":\"active\",\"retired_keys\":[{\"public_key\":\"%s\","
	    "\"until\":\"2026-06-01T00:00:00Z\"}]},"
	    "{\"id\":\"dev-r\",\"alias\":\"R\",\"public_key\":\"%s\","
	    "\"status\":\"revoked\"}],\"recipients\":[{\"id\":\"contactpunt\","
	    "\"alias\":\"Contactpunt\",\"public_key\":\"%s\",\"sign_key\":"
	    "\"%s\",\"channels\":{\"webhook\":\"http://127.0.0.1:1/hook\"}}]}",
	    a, old, r, a, s);
	free(a);
	free(old);
	free(r);
	free(s);
	memset(k, 0, sizeof(*k));
	k->directory = "/nonexistent/fuzz_notice";
	if (n < 0 || (size_t)n >= sizeof(json) ||
	    directory_parse(json, (size_t)n, &k->dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_notice: directory: %s\n", err);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hook_keys k;
	static unsigned char pk_a[crypto_sign_PUBLICKEYBYTES];
	static int ready;
	const char *aid, *hash;
	char name[ACK_STMT_TEXT_MAX + 1];
	json_t *body;

	if (!ready && (sodium_init() < 0 || fuzz_notice_keys(&k) != 0))
		return 0;
	if (!ready)
		fuzz_notice_raw_pk(1, pk_a); /* dev-a's key */
	ready = 1;
	body = json_loadb((const char *)data, size, 0, NULL);
	aid = json_str(body, "alert_id");
	hash = json_str(body, "envelope_sha256");
	if (aid != NULL) {
		(void)notice_verify_cancel(&k, body, aid, NULL);
		if (notice_verify_cancel(&k, body, aid, "dev-r") !=
		    NOTICE_RELAY)
			abort(); /* a revoked device's word */
		(void)notice_verify_cancel(&k, body, aid,
		    json_str(body, "device_id"));
		(void)notice_verify_ack(&k, body, aid, hash, name,
		    sizeof(name));
		/* the body as a "cancelled" receipt to dev-a */
		(void)cancel_receipt_own(body, aid, "dev-a", pk_a);
	}
	json_decref(body);
	return 0;
}
