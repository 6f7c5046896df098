/*
 * Enrollment from the administrator's bundle (alertctl enroll, and
 * libalertclient's ar_enroll): the device's key, its configuration and
 * the bundle's signed directory written next to each other (enroll.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "afile.h"
#include "b64.h"
#include "directory.h"
#include "enroll.h"
#include "i18n.h"
#include "log.h"
#include "xmalloc.h"

/* One line per relay and per pin (the keys add up): a list on one line
 * could outgrow what the configuration's reader takes. */
static char *
enroll_conf(const struct bundle *b)
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
enroll_free_names(const char *conf, const char *key)
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
enroll_directory(const struct bundle *b, const char *dir)
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
enroll_write(const struct bundle *b, const char *conf, const char *key,
    enum afile_how how)
{
	char *dir = afile_dirname(conf), *text, err[512];
	int rc = -1;

	/* The directory first: a device must never be configured without
	 * the floor its bundle gave it.  (cmd_enroll_directory logs.) */
	if (afile_mkdirs(dir, err, sizeof(err)) != 0)
		log_errorx("%s", err);
	else if (enroll_directory(b, dir) != 0)
		rc = -1;
	else if (afile_write_b64(key, b->sk, crypto_sign_SECRETKEYBYTES, 0600,
	             how, err, sizeof(err)) != 0)
		log_errorx("%s", err);
	else {
		text = enroll_conf(b);
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

int
enroll_bundle(const char *bundle_path, const char *conf, int force,
    struct bundle *b)
{
	char *dir = afile_dirname(conf), *key, err[512];
	int rc = -1;

	key = xasprintf("%s/%s", dir, ENROLL_KEY_FILE);
	if (bundle_read(bundle_path, b, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		free(dir);
		free(key);
		return -1;
	}
	if (!force && enroll_free_names(conf, key) != 0)
		rc = -2;
	else if (enroll_write(b, conf, key,
	             force ? AFILE_REPLACE : AFILE_CREATE) == 0)
		rc = 0;
	if (rc != 0)
		bundle_free(b);
	free(dir);
	free(key);
	return rc;
}
