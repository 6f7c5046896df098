/*
 * libFuzzer target: the check-in request (checkin_req.h), which the
 * daemon decodes after its signature verified (so an enrolled but
 * hostile device controls these bytes).
 */
#include <stdint.h>
#include <stdlib.h>

#include "checkin_req.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct checkin_req r;
	char err[128], *again;

	if (checkin_req_decode((const char *)data, size, &r, err,
	        sizeof(err)) == 0) {
		/* What decodes must encode again. */
		again = checkin_req_encode(&r);
		if (again == NULL)
			abort();
		free(again);
	}
	return 0;
}
