/*
 * alertctl pincode set|clear|status: the cancel PINs of this device, a
 * normal one and a duress one (pinfile.h, docs/SECURITY.md "Duress").
 * The PINs are read from the terminal without echo (or from stdin, one
 * a line), never from the command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "alertctl.h"
#include "client_config.h"
#include "i18n.h"
#include "log.h"
#include "out.h"
#include "pin_read.h"
#include "pinfile.h"
#include "usage.h"

/* A PIN, and on a terminal the same once more. */
static int
cmd_pincode_ask(const char *prompt, const char *again, char *buf, size_t len)
{
	char check[PIN_MAX + 2];
	int rc = 0;

	if (pin_read(prompt, buf, len) != 0) {
		log_errorx("%s",
		    _("A PIN has 4 to 64 characters; nothing was changed."));
		return -1;
	}
	if (!isatty(STDIN_FILENO))
		return 0;
	if (pin_read(again, check, sizeof(check)) != 0 ||
	    strcmp(buf, check) != 0) {
		log_errorx("%s",
		    _("The PINs are not the same; nothing was changed."));
		rc = -1;
	}
	sodium_memzero(check, sizeof(check));
	return rc;
}

int
cmd_pincode_set(const char *device_key)
{
	char pin[PIN_MAX + 2], duress[PIN_MAX + 2], err[512];
	char *path = pinfile_path(device_key);
	int rc = EXIT_FAIL;

	if (cmd_pincode_ask(_("New PIN: "), _("New PIN again: "), pin,
	        sizeof(pin)) != 0 ||
	    cmd_pincode_ask(_("Duress PIN: "), _("Duress PIN again: "), duress,
	        sizeof(duress)) != 0)
		goto out;
	if (strcmp(pin, duress) == 0) {
		log_errorx("%s",
		    _("The duress PIN must differ from the PIN; nothing was "
		      "changed."));
		goto out;
	}
	if (pinfile_write(path, pin, duress, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	rc = out_line("%s", _("PIN and duress PIN set.")) == 0 ? EXIT_OK
	                                                       : EXIT_FAIL;
out:
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(duress, sizeof(duress));
	free(path);
	return rc;
}

static int
cmd_pincode_act_on(const char *what, const char *key, const char *path)
{
	struct pinfile pf;
	char err[512];
	int rc;

	if (strcmp(what, "set") == 0)
		return cmd_pincode_set(key);
	if (strcmp(what, "clear") == 0) {
		if (unlink(path) != 0 &&
		    pinfile_load(path, &pf, err, sizeof(err)) != 0) {
			log_error("%s", path);
			return EXIT_FAIL;
		}
		return out_line("%s",
		           _("No PIN any more: cancel asks none.")) == 0
		    ? EXIT_OK
		    : EXIT_FAIL;
	}
	if (strcmp(what, "status") == 0) {
		rc = pinfile_load(path, &pf, err, sizeof(err));
		sodium_memzero(&pf, sizeof(pf));
		if (rc < 0) {
			log_errorx("%s", err);
			return EXIT_FAIL;
		}
		return out_line("%s",
		           rc == 1 ? _("PIN and duress PIN are set.")
		                   : _("No PIN is set: cancel asks none.")) == 0
		    ? EXIT_OK
		    : EXIT_FAIL;
	}
	return usage_error("pincode", _("expected set, clear or status"));
}

static int
cmd_pincode_act(const char *what, const char *key)
{
	char *path = pinfile_path(key);
	int rc = cmd_pincode_act_on(what, key, path);

	free(path);
	return rc;
}

int
cmd_pincode(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct client_config cfg;
	const char *config = g->config;
	char *def = NULL;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 'h') {
			usage_print("pincode", stdout);
			return EXIT_OK;
		} else
			return usage_error("pincode", _("bad option"));
	}
	if (argc - optind != 1)
		return usage_error("pincode",
		    _("expected set, clear or status"));
	if (config == NULL &&
	    (config = def = client_config_default_path()) == NULL) {
		log_errorx(_("no client configuration (-c or $ALERTCTL_CONF)"));
		return EXIT_FAIL;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (client_config_load(config, &cfg) != 0) {
		client_config_free(&cfg);
		free(def);
		return EXIT_FAIL;
	}
	rc = cmd_pincode_act(argv[optind], cfg.device_key);
	client_config_free(&cfg);
	free(def);
	return rc;
}
