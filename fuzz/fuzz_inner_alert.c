/*
 * libFuzzer target: the inner alert a receiver (alertctl receive,
 * alertconsole) opens from a sealed box (client/alert.c).  It is read
 * only after the device's signature verifies, so whoever holds an
 * enrolled device's key controls it: every field, the drill and update
 * flags and the position.
 */
#include <stdint.h>
#include <stdlib.h>

#include "alert.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alert a;
	char err[128];
	char *again;

	if (alert_decode((const char *)data, size, &a, err, sizeof(err)) != 0)
		return 0;
	/* what was taken encodes again (the outbox MAC does this) */
	again = alert_encode(&a);
	free(again);
	alert_clear(&a);
	return 0;
}
