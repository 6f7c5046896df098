/*
 * libFuzzer target: the receiver's state file DIR/shown (client/shown.c),
 * the alerts `alertctl receive` has shown, as it reads it at start: a
 * damaged or hostile file must be reported, never crash it.  A small
 * bound makes eviction happen too.
 */
#include <stdint.h>

#include "shown.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shown *s = shown_open(NULL, 8);

	(void)shown_load_text(s, (const char *)data, size, 1);
	(void)shown_has(s, "alert:00000000000000000000000000000000");
	shown_close(s);
	return 0;
}
