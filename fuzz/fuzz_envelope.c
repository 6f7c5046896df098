/*
 * libFuzzer target: envelope validation, run by the daemon on every
 * alert whose signature verified (so an enrolled but hostile device
 * controls these bytes).
 */
#include <stdint.h>

#include "envelope.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env;
	char err[128];

	if (envelope_decode((const char *)data, size, &env, err, sizeof(err)) ==
	    0)
		envelope_free(&env);
	return 0;
}
