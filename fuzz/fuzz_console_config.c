/*
 * libFuzzer target: the console's configuration file
 * (console/console_config.c, INI through inih), as alertconsole reads it
 * at start: the input is written to a file and loaded; whatever loads
 * is checked against the bounds console.h and the loader promise, and
 * freed either way (the loader leaves what it read for the caller).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "console.h"
#include "fuzz_file.h"
#include "log.h"

static void
check(const struct console_config *cfg)
{
	size_t i;

	if (cfg->nrcpt == 0 || cfg->nrcpt > CONSOLE_MAX_RECIPIENTS ||
	    cfg->listen == NULL || cfg->state_dir == NULL ||
	    (cfg->directory == NULL) == (cfg->devices == NULL) ||
	    (cfg->tls_cert == NULL) != (cfg->tls_key == NULL) ||
	    cfg->limits.max_conns < 1 || cfg->limits.request_timeout < 1)
		abort();
	for (i = 0; i < cfg->nrcpt; i++)
		if (cfg->rcpt[i].id == NULL || cfg->rcpt[i].nkeys == 0 ||
		    cfg->rcpt[i].nkeys > HOOK_MAX_KEYS ||
		    cfg->rcpt[i].secret_file == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct console_config cfg;
	char path[64];

	if (!ready)
		log_init("fuzz", LOG_CRIT, LOG_TO_STDERR);
	ready = 1;
	memset(&cfg, 0, sizeof(cfg));
	fuzz_file_write("alertconsole.conf", data, size, path, sizeof(path));
	if (console_config_load(path, &cfg) == 0)
		check(&cfg);
	console_config_free(&cfg);
	return 0;
}
