/*
 * Verifying and caching the organisation's signed directory on a device.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "i18n.h"
#include "atomic_file.h"
#include "b64.h"
#include "directory.h"
#include "log.h"
#include "tls.h"
#include "trust.h"
#include "xmalloc.h"

char *
trust_cache_path(const struct client_config *cfg)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char fp[17];

	if (cfg->directory != NULL)
		return xstrdup(cfg->directory);
	/* Keyed by device and organisation: two configurations on one
	 * account never share (or roll back) each other's directory. */
	sodium_bin2hex(fp, sizeof(fp), cfg->org_pk, 8);
	if (state != NULL && state[0] == '/')
		return xasprintf("%s/alertrelay/directory-%s-%s.signed", state,
		    cfg->device_id, fp);
	if (home != NULL && home[0] == '/')
		return xasprintf("%s/.local/state/alertrelay/"
		                 "directory-%s-%s.signed",
		    home, cfg->device_id, fp);
	return NULL;
}

/* The directory's usable pins into pins; none: relay_pin as configured,
 * as a process that starts under this directory has them. */
static size_t
trust_pins(const struct client_config *cfg, const struct directory *d,
    char pins[CLIENT_MAX_PINS][TLS_PIN_LEN])
{
	unsigned char hash[32];
	size_t i, n = 0;

	for (i = 0; i < d->npins && n < CLIENT_MAX_PINS; i++) {
		if (strlen(d->pins[i]) >= TLS_PIN_LEN ||
		    b64_decode_exact(d->pins[i], hash, sizeof(hash)) != 0) {
			log_warnx(_("directory: relay pin %zu is not a pin; "
			            "ignored"),
			    i);
			continue;
		}
		memcpy(pins[n++], d->pins[i], strlen(d->pins[i]) + 1);
	}
	if (n > 0)
		return n;
	memcpy(pins, cfg->conf_pins, sizeof(cfg->conf_pins));
	return cfg->nconf_pins;
}

/* Called only between events of the one thread that owns cfg: an
 * alert being sealed, or a pin being checked, sees all of the old
 * directory or all of the new, never a mix.  Sessions under way keep the
 * pins they started with (relay_session.c); the next one takes these. */
static void
trust_apply(struct client_config *cfg, const struct directory *d)
{
	const struct dir_device *me = directory_device(d, cfg->device_id);
	char pins[CLIENT_MAX_PINS][TLS_PIN_LEN];
	size_t i, npins;

	/* What can complain first; what follows only copies. */
	memset(pins, 0, sizeof(pins));
	npins = trust_pins(cfg, d, pins);
	for (i = 0; i < d->nrecipients; i++) {
		memcpy(cfg->recipients[i].id, d->recipients[i].id,
		    sizeof(cfg->recipients[i].id));
		memcpy(cfg->recipients[i].pk, d->recipients[i].pk,
		    sizeof(cfg->recipients[i].pk));
	}
	cfg->nrecipients = d->nrecipients;
	memcpy(cfg->pins, pins, sizeof(pins));
	for (i = 0; i < npins; i++)
		cfg->pinv[i] = cfg->pins[i];
	cfg->npins = npins;
	cfg->dir_version = d->version;
	cfg->shut_out = me == NULL || me->revoked;
	if (me == NULL || me->revoked)
		log_warnx(_("directory version %lld: this device (%s) is %s"),
		    d->version, cfg->device_id,
		    me == NULL ? "not listed" : "revoked");
}

int
trust_open(struct client_config *cfg)
{
	struct directory d;
	char *path, err[512];
	int rc = 0;

	if (!cfg->has_org)
		return 0;
	if ((path = trust_cache_path(cfg)) == NULL)
		return 0;
	if (access(path, F_OK) != 0) {
		free(path);
		return 0; /* not fetched yet */
	}
	if (directory_load(path, cfg->org_pk, &d, err, sizeof(err)) != 0) {
		log_warnx(_("REFUSED the cached directory: %s"), err);
		log_warnx(_("it does not verify with the organisation key; "
		            "remove it to fetch the directory again"));
		rc = -1;
	} else {
		trust_apply(cfg, &d);
		directory_free(&d);
	}
	free(path);
	return rc;
}

static int
trust_mkdirs(const char *path)
{
	char *copy = xstrdup(path), *p;

	for (p = strchr(copy + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	return 0;
}

/* Replaces the cache in one step: a crash leaves the old or the new. */
static int
trust_store(const char *path, const struct directory *d, char *err,
    size_t errlen)
{
	if (trust_mkdirs(path) != 0 ||
	    atomic_file_write(path, d->signed_text, d->signed_len, 0600,
	        ATOMIC_FILE_REPLACE) != 0) {
		snprintf(err, errlen, "cannot store the directory in %s: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The cached directory must be succeeded, never rolled back. */
static int
trust_successor(const struct client_config *cfg, const char *path,
    long long have, const struct directory *next, char *err, size_t errlen)
{
	struct directory cur;
	char why[512];
	int rc;

	if (have < 0)
		return 0;
	if (directory_load(path, cfg->org_pk, &cur, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cached directory: %s", why);
		return -1;
	}
	rc = directory_successor(&cur, next, err, errlen);
	directory_free(&cur);
	return rc;
}

int
trust_accept(struct client_config *cfg, const json_t *frame, char *err,
    size_t errlen)
{
	const json_t *v = json_object_get(frame, "version");
	const char *text = json_string_value(json_object_get(frame, "signed"));
	long long have = cfg->dir_version;
	struct directory d;
	char *path, why[512];
	int rc = -1;

	if (!json_is_integer(v)) {
		snprintf(err, errlen, "relay sent no directory version");
		return -1;
	}
	if (text == NULL) {
		if (have >= 0 && json_integer_value(v) == have)
			return 0; /* we have it */
		snprintf(err, errlen, "relay did not send the directory");
		return -1;
	}
	if (directory_verify(text, strlen(text), cfg->org_pk, &d, why,
	        sizeof(why)) != 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if ((path = trust_cache_path(cfg)) == NULL)
		snprintf(err, errlen, "no place to keep the directory (HOME)");
	else if (d.version != json_integer_value(v))
		snprintf(err, errlen, "relay misstates the directory version");
	else if (trust_successor(cfg, path, have, &d, err, errlen) == 0 &&
	    (d.version == have || trust_store(path, &d, err, errlen) == 0)) {
		if (d.version > have) {
			log_info(_("directory version %lld verified and kept"),
			    d.version);
			/* From the next sealing and connection on, as if
			 * this process had started with it. */
			trust_apply(cfg, &d);
		}
		rc = 0;
	}
	free(path);
	directory_free(&d);
	return rc;
}
