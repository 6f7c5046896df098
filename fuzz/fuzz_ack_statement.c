/*
 * libFuzzer target: the signed acknowledgement statement
 * (common/ack_statement.c), as the relay reads it from an ack request's
 * body (daemon/ack_signed.c) and as the device reads it from a receipt.
 * Whatever parses is turned back into canonical bytes, checked against
 * a key and written out again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ack_signed.h"
#include "ack_statement.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char pk[crypto_sign_PUBLICKEYBYTES] = {7};
	struct ack_statement st;
	const char *why;
	json_t *o, *out = NULL;
	size_t len;
	char *b;

	if (sodium_init() < 0)
		return 0;
	(void)ack_signed_parse((const char *)data, size, "contactpunt", NULL,
	    NULL, &out, &why);
	json_decref(out);
	o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (o != NULL && ack_statement_parse(o, &st) == 0) {
		b = ack_statement_bytes(&st, &len);
		free(b);
		(void)ack_statement_verify(&st, pk);
		json_decref(ack_statement_json(&st));
	}
	json_decref(o);
	return 0;
}
