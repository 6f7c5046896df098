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
#include "log.h"
#include "out.h"
#include "usage.h"
#include "xmalloc.h"

#define ENROLL_KEY_FILE "device.key"
#define ENROLL_CONF_FILE "alertctl.conf"
#define ENROLL_DIR_FILE "directory.signed"

struct enroll_opts {
	const char *bundle;
	const char *dir;
	const char *config; /* -c, before or after the command */
	int force;
};

enum { OPT_DIR = 256, OPT_FORCE };

/* One line per relay and per pin (the keys add up): a list on one line
 * could outgrow what the configuration's reader takes. */
static char *
cmd_enroll_conf(const struct bundle *b)
{
	char *org64 = b64_encode(b->org_pk, sizeof(b->org_pk)), *s, *t;
	const json_t *v;
	size_t i;

	s = xasprintf("; written by alertctl enroll for device %s\n[client]\n",
	    b->device_id);
	json_array_foreach(b->relays, i, v)
	{
		t = xasprintf("%srelay = %s\n", s, json_string_value(v));
		free(s);
		s = t;
	}
	json_array_foreach(b->pins, i, v)
	{
		t = xasprintf("%srelay_pin = %s\n", s, json_string_value(v));
		free(s);
		s = t;
	}
	t = xasprintf("%sdevice_id = %s\ndevice_key = %s\norg_key = %s\n", s,
	    b->device_id, ENROLL_KEY_FILE, org64);
	free(s);
	if (b->directory != NULL) {
		s = t;
		t = xasprintf("%sdirectory = %s\n", s, ENROLL_DIR_FILE);
		free(s);
	}
	free(org64);
	return t;
}

/* Without --force nothing is replaced: the key there may be the one
 * that device is enrolled with. */
static int
cmd_enroll_free_names(const char *conf, const char *key)
{
	const char *names[] = {conf, key};
	size_t i;

	for (i = 0; i < 2; i++)
		if (afile_exists(names[i])) {
			log_errorx(_("%s already exists; give --force to "
			             "replace "
			             "it (a key replaced is lost)"),
			    names[i]);
			return -1;
		}
	return 0;
}

/* The bundle's directory, unless one of this organisation that is newer
 * is there already (a device enrolled again with --force keeps its
 * floor). */
static int
cmd_enroll_directory(const struct bundle *b, const char *dir)
{
	char *path = xasprintf("%s/%s", dir, ENROLL_DIR_FILE), err[512];
	struct directory have;
	int rc = 0;

	if (b->directory == NULL) {
		log_warnx(
		    _("the bundle carries no signed directory: until this "
		      "device has fetched one, a relay could give it an "
		      "older one; ask for a bundle made after alertctl "
		      "directory sign"));
		free(path);
		return 0;
	}
	if (directory_load(path, b->org_pk, &have, err, sizeof(err)) == 0) {
		if (have.version > b->dir_version) {
			log_info(_("%s: keeping version %lld, newer than the "
			           "bundle's %lld"),
			    path, have.version, b->dir_version);
			directory_free(&have);
			free(path);
			return 0;
		}
		directory_free(&have);
	}
	if (afile_write(path, b->directory, strlen(b->directory), 0600,
	        AFILE_REPLACE, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		rc = -1;
	}
	free(path);
	return rc;
}

static int
cmd_enroll_write(const struct bundle *b, const char *conf, const char *key,
    enum afile_how how)
{
	char *dir = afile_dirname(conf), *text, err[512];
	int rc = -1;

	/* The directory first: a device must never be configured without
	 * the floor its bundle gave it.  (cmd_enroll_directory logs.) */
	if (afile_mkdirs(dir, err, sizeof(err)) != 0)
		log_errorx("%s", err);
	else if (cmd_enroll_directory(b, dir) != 0)
		rc = -1;
	else if (afile_write_b64(key, b->sk, crypto_sign_SECRETKEYBYTES, 0600,
	             how, err, sizeof(err)) != 0)
		log_errorx("%s", err);
	else {
		text = cmd_enroll_conf(b);
		if (afile_write(conf, text, strlen(text), 0600, how, err,
		        sizeof(err)) != 0) {
			log_errorx("%s", err);
			if (how == AFILE_CREATE)
				unlink(key);
		} else
			rc = 0;
		free(text);
	}
	free(dir);
	return rc;
}

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
	char *conf, *dir, *key, err[512];
	struct bundle b;
	int rc = EXIT_FAIL;

	if ((conf = cmd_enroll_conf_path(op)) == NULL)
		return EXIT_FAIL;
	dir = afile_dirname(conf);
	key = xasprintf("%s/%s", dir, ENROLL_KEY_FILE);
	if (bundle_read(op->bundle, &b, err, sizeof(err)) != 0)
		log_errorx("%s", err);
	else {
		if ((op->force || cmd_enroll_free_names(conf, key) == 0) &&
		    cmd_enroll_write(&b, conf, key,
		        op->force ? AFILE_REPLACE : AFILE_CREATE) == 0) {
			cmd_enroll_report(&b, conf);
			rc = EXIT_OK;
		}
		bundle_free(&b);
	}
	free(conf);
	free(dir);
	free(key);
	return rc;
}

int
cmd_enroll(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"force", no_argument, NULL, OPT_FORCE},
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
