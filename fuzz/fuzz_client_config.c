/*
 * libFuzzer target: alertctl's configuration file (client/client_config.c,
 * INI through inih), as every alertctl command and libalertclient read
 * it: the input is written to a file and loaded; whatever loads is
 * checked against the bounds client_config.h promises, then freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <syslog.h>

#include "client_config.h"
#include "fuzz_file.h"
#include "log.h"

static void
check(const struct client_config *cfg)
{
	size_t i;

	if (cfg->nrelays == 0 || cfg->nrelays > CLIENT_MAX_RELAYS ||
	    cfg->npins == 0 || cfg->npins > CLIENT_MAX_PINS ||
	    !id_valid(cfg->device_id) || cfg->device_key == NULL ||
	    cfg->nrecipients > ENVELOPE_MAX_RECIPIENTS)
		abort();
	for (i = 0; i < cfg->nrelays; i++)
		if (cfg->relays[i].host == NULL || cfg->relays[i].port < 1 ||
		    cfg->relays[i].port > 65535)
			abort();
	for (i = 0; i < cfg->nrecipients; i++)
		if (!id_valid(cfg->recipients[i].id))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct client_config cfg;
	char path[64];

	if (!ready)
		log_init("fuzz", LOG_CRIT, LOG_TO_STDERR);
	ready = 1;
	fuzz_file_write("alertctl.conf", data, size, path, sizeof(path));
	if (client_config_load(path, &cfg) == 0)
		check(&cfg);
	client_config_free(&cfg);
	return 0;
}
