/*
 * Merging the signed directory into the relay's configuration.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "b64.h"
#include "envelope.h"
#include "log.h"
#include "keyfile.h"
#include "conn_dirframe.h"
#include "relay_directory.h"
#include "xmalloc.h"

struct merge {
	struct relay_config *cfg;
	int line;
	FILE *errout;
	int errors;
};

static void merge_error(struct merge *m, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
merge_error(struct merge *m, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	relay_config_vreport(m->errout, m->cfg->path, line, fmt, ap);
	va_end(ap);
	m->errors++;
}

static void
merge_devices(struct merge *m)
{
	struct relay_config *cfg = m->cfg;
	const struct directory *d = cfg->dir;
	size_t i;

	/* One source of truth: a [device] section next to the directory
	 * would be a key the organisation never signed. */
	for (i = 0; i < cfg->ndevices; i++)
		merge_error(m, cfg->devices[i].line,
		    "[device %s]: devices come from the directory when "
		    "[relay] directory is set",
		    cfg->devices[i].id);
	if (m->errors > 0)
		return;
	cfg->devices = xcalloc(d->ndevices + 1, sizeof(*cfg->devices));
	for (i = 0; i < d->ndevices; i++) {
		struct device_entry *e = &cfg->devices[i];

		memcpy(e->id, d->devices[i].id, sizeof(e->id));
		e->alias = xstrdup(d->devices[i].alias);
		memcpy(e->sign_pk, d->devices[i].pk, sizeof(e->sign_pk));
		e->revoked = d->devices[i].revoked;
		e->dir = &d->devices[i];
		e->line = m->line;
	}
	cfg->ndevices = d->ndevices;
}

/* A [recipient] section may only add the relay's own secrets. */
static void
merge_check_section(struct merge *m, const struct recipient_entry *r)
{
	if (directory_recipient(m->cfg->dir, r->id) == NULL)
		merge_error(m, r->line,
		    "[recipient %s] is not in the directory (remove the "
		    "section, or add the recipient and sign again)",
		    r->id);
	else if (r->alias != NULL || r->has_box_pk || r->webhook_url != NULL ||
	    r->sms != NULL)
		merge_error(m, r->line,
		    "[recipient %s]: alias, public_key, webhook_url and sms "
		    "come from the directory",
		    r->id);
}

static void
merge_recipients(struct merge *m)
{
	struct relay_config *cfg = m->cfg;
	const struct directory *d = cfg->dir;
	size_t i;

	for (i = 0; i < cfg->nrecipients; i++)
		merge_check_section(m, &cfg->recipients[i]);
	if (m->errors > 0)
		return;
	for (i = 0; i < d->nrecipients; i++) {
		const struct dir_recipient *dr = &d->recipients[i];
		struct recipient_entry *r =
		    relay_config_recipient_entry(cfg, dr->id, m->line);

		r->alias = xstrdup(dr->alias);
		memcpy(r->box_pk, dr->pk, sizeof(r->box_pk));
		r->has_box_pk = 1;
		r->webhook_url = dr->webhook ? xstrdup(dr->webhook) : NULL;
		r->sms = dr->sms ? xstrdup(dr->sms) : NULL;
		/* With one gateway there is nothing to choose. */
		if (r->sms != NULL && r->sms_gateway == NULL &&
		    cfg->ngateways == 1)
			r->sms_gateway = xstrdup(cfg->gateways[0].name);
		if (r->webhook_url != NULL && r->webhook_secret_file == NULL)
			merge_error(m, r->line,
			    "recipient %s is reached by webhook: it needs a "
			    "[recipient %s] section with webhook_secret_file",
			    r->id, r->id);
	}
}

/* Refused here, at start or reload (the running one stays), rather than
 * answered to every device that asks: a directory the relay cannot send
 * is one no device can verify an acknowledgement with. */
static int
relay_directory_fits(struct merge *m)
{
	size_t n = conn_dirframe_size(m->cfg->dir);

	if (n > 0 && n <= DIRECTORY_FRAME_MAX)
		return 0;
	merge_error(m, m->line,
	    "directory %s: too large to send to devices: its frame would be "
	    "%zu bytes, above %d (the frame carries the file as a JSON "
	    "string, where each newline or tab of its layout counts twice; "
	    "write it without them)",
	    m->cfg->directory_path, n, DIRECTORY_FRAME_MAX);
	return -1;
}

int
relay_directory_merge(struct relay_config *cfg, const char *dir, int line,
    FILE *errout)
{
	unsigned char org_pk[crypto_sign_PUBLICKEYBYTES];
	struct merge m = {cfg, line, errout, 0};
	char err[512];

	if (keyfile_pubkey(dir, cfg->org_key_text, org_pk, sizeof(org_pk), err,
	        sizeof(err)) != 0) {
		merge_error(&m, line,
		    "[relay] directory needs org_key, the organisation's "
		    "base64 Ed25519 public key or a file holding it (org.pub): "
		    "%s",
		    err);
		return m.errors;
	}
	memcpy(cfg->org_pk, org_pk, sizeof(org_pk));
	cfg->dir = xcalloc(1, sizeof(*cfg->dir));
	if (directory_load(cfg->directory_path, org_pk, cfg->dir, err,
	        sizeof(err)) != 0) {
		merge_error(&m, line, "directory %s", err);
		return m.errors;
	}
	if (relay_directory_fits(&m) != 0)
		return m.errors;
	merge_devices(&m);
	merge_recipients(&m);
	return m.errors;
}

int
relay_directory_successor(const struct relay_config *cur,
    const struct relay_config *next, char *err, size_t errlen)
{
	if (cur->dir == NULL)
		return 0;
	if (next->dir == NULL) {
		snprintf(err, errlen,
		    "the signed directory cannot be dropped by a reload");
		return -1;
	}
	if (sodium_memcmp(cur->org_pk, next->org_pk, sizeof(cur->org_pk)) !=
	    0) {
		snprintf(err, errlen,
		    "org_key cannot change by a reload (restart to change "
		    "organisation)");
		return -1;
	}
	return directory_successor(cur->dir, next->dir, err, errlen);
}

/* created_at of an envelope whose signature did not verify with the
 * current key: parsed only to pick a retired key. */
static int
envelope_created_at(const char *json, size_t len, time_t *t)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	const char *s = json_string_value(json_object_get(o, "created_at"));
	int rc = s != NULL ? time_rfc3339_parse(s, t) : -1;

	json_decref(o);
	return rc;
}

int
relay_device_verify_envelope(const struct device_entry *dev, const char *json,
    size_t len, const unsigned char *sig)
{
	time_t created;

	if (envelope_verify(json, len, sig, dev->sign_pk) == 0)
		return 0;
	if (dev->dir == NULL || dev->dir->nretired == 0 ||
	    envelope_created_at(json, len, &created) != 0)
		return -1;
	return dir_device_verify_envelope(dev->dir, json, len, sig, created);
}
