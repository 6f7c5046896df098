/*
 * alertctl pincode set|clear|status: the cancel PINs of this device, a
 * normal one and a duress one (pinfile.h, docs/SECURITY.md "Duress").
 * The PINs are read from the terminal without echo (or from stdin, one
 * a line), never from the command line.  Once PINs are set, set and
 * clear first ask the current one; what the duress PIN does there is
 * pincode_change.h's.
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
#include "pincode_change.h"
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

/* The new PIN and duress PIN, read and told apart: 0, or -1 (said). */
static int
cmd_pincode_new(char *pin, char *duress, size_t len)
{
	if (cmd_pincode_ask(_("New PIN: "), _("New PIN again: "), pin, len) ||
	    cmd_pincode_ask(_("Duress PIN: "), _("Duress PIN again: "), duress,
	        len))
		return -1;
	if (strcmp(pin, duress) == 0) {
		log_errorx("%s",
		    _("The duress PIN must differ from the PIN; nothing was "
		      "changed."));
		return -1;
	}
	return 0;
}

/* The PIN file as it is: 1 in pf, 0 none, -1 said.  A damaged one is
 * neither replaced nor removed here: it may hold a forced state. */
static int
cmd_pincode_load(const char *path, struct pinfile *pf)
{
	char err[512];
	int rc = pinfile_load(path, pf, err, sizeof(err));

	if (rc < 0)
		log_errorx("%s", err);
	return rc;
}

/* The current PIN, for a file that shows PINs, and how it matched (the
 * same Argon2id work as cancel's check, which is what limits tries): 0,
 * or -1 after a wrong or missing one, with nothing changed. */
static int
cmd_pincode_current(const struct pinfile *pf, enum pin_match *m)
{
	char pin[PIN_MAX + 2];

	/* none or too short: checked all the same, the time of a wrong one */
	if (pin_read(_("Current PIN: "), pin, sizeof(pin)) != 0)
		pin[0] = '\0';
	*m = pinfile_check_current(pf, pin);
	sodium_memzero(pin, sizeof(pin));
	if (*m != PIN_WRONG)
		return 0;
	log_errorx("%s", _("Wrong PIN. Nothing was changed."));
	return -1;
}

/* The file loaded (1 in cur) and, when it shows PINs, the current PIN
 * asked and matched in m; 0 without a file; -1 said. */
static int
cmd_pincode_before(const char *path, struct pinfile *cur, enum pin_match *m)
{
	int have = cmd_pincode_load(path, cur);

	*m = PIN_NORMAL;
	if (have == 1 && pinfile_shows_pins(cur) &&
	    cmd_pincode_current(cur, m) != 0)
		return -1;
	return have;
}

/* Whatever the current PIN was, the duress one included, the same line
 * and exit status: the change looks done to whoever watches. */
int
cmd_pincode_set(const char *device_key)
{
	char pin[PIN_MAX + 2], duress[PIN_MAX + 2], err[512];
	char *path = pinfile_path(device_key);
	struct pinfile cur;
	enum pin_match m;
	int have, rc = EXIT_FAIL;

	if ((have = cmd_pincode_before(path, &cur, &m)) < 0 ||
	    cmd_pincode_new(pin, duress, sizeof(pin)) != 0)
		goto out;
	if (pincode_change_set(path, have ? &cur : NULL, m, pin, duress, err,
	        sizeof(err)) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	rc = out_line("%s", _("PIN and duress PIN set.")) == 0 ? EXIT_OK
	                                                       : EXIT_FAIL;
out:
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(duress, sizeof(duress));
	sodium_memzero(&cur, sizeof(cur));
	free(path);
	return rc;
}

/* As set: the same line whichever PIN was given.  A device that shows
 * no PINs (none set, or cleared under duress) has nothing to clear. */
static int
cmd_pincode_clear(const char *path)
{
	struct pinfile cur;
	enum pin_match m;
	char err[512];
	int have = cmd_pincode_before(path, &cur, &m);

	if (have == 1 && pinfile_shows_pins(&cur) &&
	    pincode_change_clear(path, &cur, m, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		have = -1;
	}
	sodium_memzero(&cur, sizeof(cur));
	if (have < 0)
		return EXIT_FAIL;
	return out_line("%s", _("No PIN any more: cancel asks none.")) == 0
	    ? EXIT_OK
	    : EXIT_FAIL;
}

/* What the device shows: after a clear under duress, no PINs. */
static int
cmd_pincode_status(const char *path)
{
	struct pinfile pf;
	int rc = cmd_pincode_load(path, &pf);
	int shown = rc == 1 && pinfile_shows_pins(&pf);

	sodium_memzero(&pf, sizeof(pf));
	if (rc < 0)
		return EXIT_FAIL;
	return out_line("%s",
	           shown ? _("PIN and duress PIN are set.")
	                 : _("No PIN is set: cancel asks none.")) == 0
	    ? EXIT_OK
	    : EXIT_FAIL;
}

static int
cmd_pincode_act_on(const char *what, const char *key, const char *path)
{
	if (strcmp(what, "set") == 0)
		return cmd_pincode_set(key);
	if (strcmp(what, "clear") == 0)
		return cmd_pincode_clear(path);
	if (strcmp(what, "status") == 0)
		return cmd_pincode_status(path);
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
