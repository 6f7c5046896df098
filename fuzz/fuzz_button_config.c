/*
 * libFuzzer target: the panic button's part of alertctl.conf
 * (client/button_config.c, [button], INI through inih), as `alertctl
 * button` reads it.  The input is written to a file and loaded; what
 * loads is checked against the bounds button_config.h promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <syslog.h>

#include "button_config.h"
#include "fuzz_file.h"
#include "log.h"

static void
check(const struct button_config *bc)
{
	if (bc->device == NULL || bc->hold_ms < BUTTON_HOLD_MS_MIN ||
	    bc->hold_ms > BUTTON_HOLD_MS_MAX || bc->supervise_s < 0 ||
	    bc->led < -1)
		abort();
	if (bc->has_location &&
	    (bc->lat < -90 || bc->lat > 90 || bc->lon < -180 || bc->lon > 180))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct button_config bc;
	char path[64];

	if (!ready)
		log_init("fuzz", LOG_CRIT, LOG_TO_STDERR);
	ready = 1;
	fuzz_file_write("alertctl.conf", data, size, path, sizeof(path));
	if (button_config_load(path, &bc) == 0)
		check(&bc);
	button_config_free(&bc);
	return 0;
}
