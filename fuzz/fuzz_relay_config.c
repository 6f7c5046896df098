/*
 * libFuzzer target: alertrelayd.conf (daemon/relay_config.c and
 * relay_config_check.c, INI through inih), as the relay reads it at
 * start and on SIGHUP: the input is written to a file and loaded, with
 * every problem reported to /dev/null.  Whatever loads is checked
 * against the promises relay_config.h makes (devices and recipients
 * sorted by id with unique ids, each recipient reachable somehow), then
 * freed.  Paths in the input may name any file the harness can read;
 * the loader only reads them (keys, the directory, certificates).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "fuzz_file.h"
#include "log.h"
#include "relay_config.h"

static void
check(const struct relay_config *cfg)
{
	size_t i;

	if (cfg->listen == NULL || cfg->redis_address == NULL ||
	    cfg->redis_prefix == NULL || cfg->workers < 1)
		abort();
	for (i = 1; i < cfg->ndevices; i++)
		if (strcmp(cfg->devices[i - 1].id, cfg->devices[i].id) >= 0)
			abort();
	for (i = 1; i < cfg->nrecipients; i++)
		if (strcmp(cfg->recipients[i - 1].id, cfg->recipients[i].id) >=
		    0)
			abort();
	for (i = 0; i < cfg->nrecipients; i++)
		if (cfg->recipients[i].webhook_url != NULL &&
		    cfg->recipients[i].webhook_key == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct relay_config *cfg;
	char path[64];

	if (devnull == NULL) {
		log_init("fuzz", LOG_CRIT, LOG_TO_STDERR);
		if (sodium_init() < 0 ||
		    (devnull = fopen("/dev/null", "w")) == NULL)
			abort();
	}
	fuzz_file_write("alertrelayd.conf", data, size, path, sizeof(path));
	if ((cfg = relay_config_load(path, devnull)) != NULL) {
		check(cfg);
		relay_config_free(cfg);
	}
	return 0;
}
