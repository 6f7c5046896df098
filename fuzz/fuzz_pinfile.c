/*
 * libFuzzer target: the device's PIN file (client/pinfile.c), as cancel
 * and `alertctl pincode status` read it: a damaged or hostile file must
 * be refused with a reason, never crash, and never yield a hash that
 * asks Argon2id for another cost than the one alertctl writes.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "pinfile.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pinfile pf;
	char err[256];

	if (pinfile_parse((const char *)data, size, &pf, err, sizeof(err)) ==
	    0) {
		if (strlen(pf.pin) >= sizeof(pf.pin) ||
		    strlen(pf.duress) >= sizeof(pf.duress))
			__builtin_trap();
	}
	return 0;
}
