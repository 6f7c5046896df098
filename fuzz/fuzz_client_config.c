/*
 * libFuzzer target: alertctl's configuration file (client/client_config.c,
 * INI through inih), as every alertctl command and libalertclient read
 * it: the input is written to a file and loaded; whatever loads is
 * checked against the bounds client_config.h promises, then freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "client_config.h"
#include "log.h"

static char dir[] = "/tmp/fuzz_client_config.XXXXXX";

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
	FILE *f;

	if (!ready) {
		if (mkdtemp(dir) == NULL)
			abort();
		log_init("fuzz", LOG_CRIT, LOG_TO_STDERR);
		ready = 1;
	}
	snprintf(path, sizeof(path), "%s/alertctl.conf", dir);
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (client_config_load(path, &cfg) == 0)
		check(&cfg);
	client_config_free(&cfg);
	return 0;
}
