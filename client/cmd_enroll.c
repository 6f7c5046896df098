/*
 * alertctl enroll: sets up the official's device from the enrollment
 * bundle the administrator made (alertctl device add):
 *
 *	enroll BUNDLE [--dir CONFDIR] [--force]
 *
 * writes CONFDIR/device.key (the device's secret key, as keygen writes
 * it) and CONFDIR/alertctl.conf ([client]: relays, pins, device_id,
 * device_key, org_key), both mode 0600, and, when the bundle carries
 * the signed directory, CONFDIR/directory.signed (the configuration's
 * directory): the device's first verified directory, below which no
 * relay can take it (bundle.h).  Without --dir they go where
 * alertctl looks for its configuration (-c, $ALERTCTL_CONF, else
 * ~/.config/alertrelay/alertctl.conf), the key next to it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "i18n.h"
#include "afile.h"
#include "alertctl.h"
#include "b64.h"
#include "bundle.h"
#include "client_config.h"
#include "directory.h"
#include "enroll.h"
#include "log.h"
#include "out.h"
#include "usage.h"
#include "xmalloc.h"

struct enroll_opts {
	const char *bundle;
	const char *dir;
	const char *config; /* -c, before or after the command */
	int force;
	int pin; /* --pin: then the cancel PINs (cmd_pincode.c) */
};

enum { OPT_DIR = 256, OPT_FORCE, OPT_PIN };

static void
cmd_enroll_report(const struct bundle *b, const char *conf)
{
	char alias[256], *relays = xstrdup(""), *t;
	const json_t *v;
	size_t i;

	json_array_foreach(b->relays, i, v)
	{
		t = xasprintf("%s%s%s", relays, i > 0 ? ", " : "",
		    json_string_value(v));
		free(relays);
		relays = t;
	}
	out_line(_("enrolled as %s (%s); relays %s"), b->device_id,
	    out_clean(b->alias, alias, sizeof(alias)), relays);
	if (b->directory != NULL)
		out_line(_("directory version %lld kept: this device refuses "
		           "any older one"),
		    b->dir_version);
	out_line(_("configuration: %s; the bundle holds this device's secret "
	           "key: delete it"),
	    conf);
	free(relays);
}

/* The configuration file: CONFDIR/alertctl.conf, else where alertctl
 * reads it from (caller frees). */
static char *
cmd_enroll_conf_path(const struct enroll_opts *op)
{
	char *path;

	if (op->dir != NULL)
		return xasprintf("%s/%s", op->dir, ENROLL_CONF_FILE);
	if (op->config != NULL)
		return xstrdup(op->config);
	if ((path = client_config_default_path()) == NULL)
		log_errorx(_("no home directory: give --dir"));
	return path;
}

static int
cmd_enroll_run(const struct enroll_opts *op)
{
	char *conf, *dir, *key;
	struct bundle b;
	int rc = EXIT_FAIL;

	if ((conf = cmd_enroll_conf_path(op)) == NULL)
		return EXIT_FAIL;
	if (enroll_bundle(op->bundle, conf, op->force, &b) == 0) {
		cmd_enroll_report(&b, conf);
		dir = afile_dirname(conf);
		key = xasprintf("%s/%s", dir, ENROLL_KEY_FILE);
		rc = op->pin ? cmd_pincode_set(key) : EXIT_OK;
		free(dir);
		free(key);
		bundle_free(&b);
	}
	free(conf);
	return rc;
}

int
cmd_enroll(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"pin", no_argument, NULL, OPT_PIN},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct enroll_opts op;
	int ch;

	memset(&op, 0, sizeof(op));
	op.config = g->config;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			op.config = optarg;
			break;
		case OPT_DIR:
			op.dir = optarg;
			break;
		case OPT_FORCE:
			op.force = 1;
			break;
		case OPT_PIN:
			op.pin = 1;
			break;
		case 'h':
			usage_print("enroll", stdout);
			return EXIT_OK;
		default:
			return usage_error("enroll", _("bad option"));
		}
	}
	if (argc - optind != 1)
		return usage_error("enroll", _("expected one bundle file"));
	if (op.dir != NULL && op.config != NULL)
		return usage_error("enroll", _("give -c or --dir, not both"));
	op.bundle = argv[optind];
	return cmd_enroll_run(&op);
}
