/*
 * libFuzzer target: the enrollment bundle (client/bundle.c) as `alertctl
 * enroll` parses it, including the signed directory it carries, which
 * is verified with the org_key the bundle itself names (so the fuzzer
 * can make directories that verify, and reach their parser).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct bundle b;
	char err[512];

	/* As alertctl's main() does: guarded memory needs it. */
	if (!ready && sodium_init() < 0)
		abort();
	ready = 1;
	if (bundle_parse((const char *)data, size, "fuzz", &b, err,
	        sizeof(err)) == 0)
		bundle_free(&b);
	return 0;
}
