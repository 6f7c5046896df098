/*
 * libFuzzer target: the device's PIN file (client/pinfile.c), versions 1
 * and 2 (forced by a duress PIN), as cancel and `alertctl pincode` read
 * it: a damaged or hostile file must be refused with a reason, never
 * crash, and never yield a hash that asks Argon2id for another cost than
 * the one alertctl writes, nor shown PINs outside a forced file.
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

	if (pinfile_parse((const char *)data, size, &pf, err, sizeof(err)) != 0)
		return 0;
	if (strlen(pf.pin) >= sizeof(pf.pin) ||
	    strlen(pf.duress) >= sizeof(pf.duress) ||
	    strlen(pf.shown_pin) >= sizeof(pf.shown_pin) ||
	    strlen(pf.shown_duress) >= sizeof(pf.shown_duress))
		__builtin_trap();
	/* shown PINs only in a forced file, and then both */
	if ((pf.shown && !pf.forced) ||
	    (pf.shown &&
	        (pf.shown_pin[0] == '\0' || pf.shown_duress[0] == '\0')))
		__builtin_trap();
	return 0;
}
