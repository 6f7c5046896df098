/*
 * libFuzzer target: the contact point's part of alertctl.conf
 * (client/cp_config.c, [contactpoint], INI through inih), as `alertctl
 * receive`, `ack` and `inbox` read it, and the time zone it chooses.
 * The input is written to a file and loaded, then freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <syslog.h>

#include "cp_config.h"
#include "fuzz_file.h"
#include "log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct cp_config cfg;
	const char *zone;
	char path[64];

	if (!ready)
		log_init("fuzz", LOG_CRIT, LOG_TO_STDERR);
	ready = 1;
	fuzz_file_write("alertctl.conf", data, size, path, sizeof(path));
	if (cp_config_load(path, &cfg) == 0) {
		if (cfg.present && cfg.path == NULL)
			abort();
		(void)cp_config_zone(&cfg, NULL, &zone);
	}
	cp_config_free(&cfg);
	return 0;
}
