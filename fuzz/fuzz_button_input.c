/*
 * libFuzzer target: the records `alertctl button` cuts out of what its
 * input device gives (client/button_input.c): any bytes, in pieces of
 * any size, must never crash it, and every key it reports must be one a
 * kernel could send.
 */
#include <stdint.h>
#include <stdlib.h>

#include "button_input.h"

static void
fuzz_key(void *arg, unsigned code, int value)
{
	(void)arg;
	if (code > KEY_MAX || value < 0 || value > 2)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct button_input in = {{0}, 0};
	size_t off = 0, n;

	/* The first byte chooses how the reads are cut. */
	n = size > 0 ? (size_t)data[0] % 40 + 1 : 1;
	while (off < size) {
		if (n > size - off)
			n = size - off;
		(void)button_input_feed(&in, data + off, n, fuzz_key, NULL);
		off += n;
	}
	return 0;
}
