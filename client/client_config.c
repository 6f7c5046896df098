/*
 * Loading the client configuration.  Every problem is reported with its
 * file:line, all of them in one run, so a broken config is fixed in one
 * go rather than one error at a time.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "afile.h"
#include "b64.h"
#include "client_config.h"
#include "keyfile.h"
#include "ltime.h"
#include "log.h"
#include "xmalloc.h"

struct client_config_parse {
	struct client_config *cfg;
	FILE *f;
	char *dir; /* base of relative paths */
	int lineno;
	int errors;
	unsigned seen; /* bit per client_config_keys entry */
};

static void client_config_error(struct client_config_parse *p, const char *fmt,
    ...) PRINTFLIKE(2, 3);

static void
client_config_error(struct client_config_parse *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s:%d: %s", p->cfg->path, p->lineno, msg);
	p->errors++;
}

static char *
client_config_resolve(const struct client_config_parse *p, const char *v)
{
	if (v[0] == '/')
		return xstrdup(v);
	return xasprintf("%s/%s", p->dir, v);
}

/* Calls add() for each comma-separated item, trimmed; empty items are
 * errors. */
static void
client_config_list(struct client_config_parse *p, const char *key,
    const char *value, void (*add)(struct client_config_parse *, char *))
{
	char *copy = xstrdup(value), *item = copy, *next, *end;

	for (; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		while (*item == ' ' || *item == '\t')
			item++;
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item == '\0' && next == NULL && item != copy)
			; /* "a, b," continued on the next line */
		else if (*item == '\0')
			client_config_error(p, "%s: empty item in list", key);
		else
			add(p, item);
	}
	free(copy);
}

static void
client_config_add_relay(struct client_config_parse *p, char *item)
{
	struct client_config *cfg = p->cfg;
	struct client_relay *r;

	if (cfg->nrelays == CLIENT_MAX_RELAYS) {
		client_config_error(p, "more than %d relays",
		    CLIENT_MAX_RELAYS);
		return;
	}
	r = &cfg->relays[cfg->nrelays];
	if (hostport_parse(item, &r->host, &r->port) != 0) {
		client_config_error(p, "relay: '%s' is not host:port", item);
		return;
	}
	r->label = xstrdup(item);
	cfg->nrelays++;
}

static void
client_config_add_pin(struct client_config_parse *p, char *item)
{
	struct client_config *cfg = p->cfg;
	unsigned char hash[32];

	if (cfg->npins == CLIENT_MAX_PINS) {
		client_config_error(p, "more than %d pins", CLIENT_MAX_PINS);
		return;
	}
	if (strlen(item) >= TLS_PIN_LEN ||
	    b64_decode_exact(item, hash, sizeof(hash)) != 0) {
		client_config_error(p,
		    "relay_pin: '%s' is not a pin (see alertctl pin)", item);
		return;
	}
	memcpy(cfg->pins[cfg->npins], item, strlen(item) + 1);
	cfg->pinv[cfg->npins] = cfg->pins[cfg->npins];
	cfg->npins++;
	memcpy(cfg->conf_pins[cfg->nconf_pins++], item, strlen(item) + 1);
}

static void
client_config_relay(struct client_config_parse *p, const char *v)
{
	client_config_list(p, "relay", v, client_config_add_relay);
}

static void
client_config_relay_pin(struct client_config_parse *p, const char *v)
{
	client_config_list(p, "relay_pin", v, client_config_add_pin);
}

static void
client_config_device_id(struct client_config_parse *p, const char *v)
{
	if (!id_valid(v)) {
		client_config_error(p,
		    "device_id: '%s' is not 1-64 of A-Z a-z 0-9 . _ -", v);
		return;
	}
	memcpy(p->cfg->device_id, v, strlen(v) + 1);
}

static void
client_config_device_key(struct client_config_parse *p, const char *v)
{
	p->cfg->device_key = client_config_resolve(p, v);
}

static void
client_config_outbox(struct client_config_parse *p, const char *v)
{
	p->cfg->outbox = client_config_resolve(p, v);
}

static void
client_config_org_key(struct client_config_parse *p, const char *v)
{
	char err[512];

	if (keyfile_pubkey(p->dir, v, p->cfg->org_pk, sizeof(p->cfg->org_pk),
	        err, sizeof(err)) != 0) {
		client_config_error(p,
		    "org_key: not a base64 Ed25519 public key (the "
		    "organisation's, from enrollment) nor a file holding "
		    "one: %s",
		    err);
		return;
	}
	p->cfg->has_org = 1;
}

static void
client_config_directory(struct client_config_parse *p, const char *v)
{
	p->cfg->directory = client_config_resolve(p, v);
}

/* Who a person whose device is shut out should call: shown as it is in
 * send's last line, so it is kept to one short printable line. */
static void
client_config_contact(struct client_config_parse *p, const char *v)
{
	const unsigned char *c;

	if (strlen(v) == 0 || strlen(v) > CLIENT_CONTACT_MAX) {
		client_config_error(p, "contact: 1 to %d characters",
		    CLIENT_CONTACT_MAX);
		return;
	}
	for (c = (const unsigned char *)v; *c != '\0'; c++)
		if (*c < 0x20 || *c == 0x7f) {
			client_config_error(p,
			    "contact: no control characters");
			return;
		}
	free(p->cfg->contact);
	p->cfg->contact = xstrdup(v);
}

/* The zone the times a person reads are shown in (ltime.h). */
static void
client_config_timezone(struct client_config_parse *p, const char *v)
{
	if (ltime_zone_valid(v) != 0) {
		client_config_error(p,
		    "timezone: '%s' is not a zone of the tz database (tzdata), "
		    "for example Europe/Amsterdam",
		    v);
		return;
	}
	/* this thread's texts from now on; a library client sets its own
	 * again before it tells anything (lib/ar_client.c) */
	snprintf(p->cfg->timezone, sizeof(p->cfg->timezone), "%s", v);
	ltime_set_zone(v);
}

/* send --follow's bounds (follow.h): how often, how many, how long. */
static void
client_config_follow_long(struct client_config_parse *p, const char *name,
    const char *v, long min, long max, long *out)
{
	if (parse_long(v, min, max, out) != 0)
		client_config_error(p, "%s: a number %ld..%ld", name, min, max);
}

static void
client_config_follow_interval(struct client_config_parse *p, const char *v)
{
	client_config_follow_long(p, "follow_interval", v, 1, 3600,
	    &p->cfg->follow_interval);
}

static void
client_config_follow_max_updates(struct client_config_parse *p, const char *v)
{
	client_config_follow_long(p, "follow_max_updates", v, 1, 100000,
	    &p->cfg->follow_max_updates);
}

static void
client_config_follow_max_time(struct client_config_parse *p, const char *v)
{
	client_config_follow_long(p, "follow_max_time", v, 10, 7 * 86400,
	    &p->cfg->follow_max_time);
}

static void
client_config_gpsd(struct client_config_parse *p, const char *v)
{
	free(p->cfg->gpsd);
	p->cfg->gpsd = xstrdup(v);
}

static const struct client_config_key {
	const char *name;
	void (*set)(struct client_config_parse *, const char *);
	int repeatable; /* values add up instead of being a duplicate */
} client_config_keys[] = {
    {"relay", client_config_relay, 1},
    {"relay_pin", client_config_relay_pin, 1},
    {"device_id", client_config_device_id, 0},
    {"device_key", client_config_device_key, 0},
    {"outbox", client_config_outbox, 0},
    {"org_key", client_config_org_key, 0},
    {"directory", client_config_directory, 0},
    {"contact", client_config_contact, 0},
    {"timezone", client_config_timezone, 0},
    {"follow_interval", client_config_follow_interval, 0},
    {"follow_max_updates", client_config_follow_max_updates, 0},
    {"follow_max_time", client_config_follow_max_time, 0},
    {"gpsd", client_config_gpsd, 0},
};

static void
client_config_client_key(struct client_config_parse *p, const char *name,
    const char *value)
{
	size_t i;

	for (i = 0;
	     i < sizeof(client_config_keys) / sizeof(client_config_keys[0]);
	     i++) {
		const struct client_config_key *k = &client_config_keys[i];

		if (strcmp(name, k->name) != 0)
			continue;
		if (!k->repeatable && (p->seen & (1u << i))) {
			client_config_error(p, "%s given twice", name);
			return;
		}
		p->seen |= 1u << i;
		k->set(p, value);
		return;
	}
	client_config_error(p, "unknown key '%s' in [client]", name);
}

static void
client_config_recipient_key(struct client_config_parse *p, const char *id,
    const char *name, const char *value)
{
	struct client_config *cfg = p->cfg;
	struct client_recipient *r;
	size_t i;

	if (strcmp(name, "public_key") != 0) {
		client_config_error(p, "unknown key '%s' in [recipient %s]",
		    name, id);
		return;
	}
	for (i = 0; i < cfg->nrecipients; i++)
		if (strcmp(cfg->recipients[i].id, id) == 0) {
			client_config_error(p,
			    "recipient %s: public_key "
			    "given twice",
			    id);
			return;
		}
	if (cfg->nrecipients == ENVELOPE_MAX_RECIPIENTS) {
		client_config_error(p, "more than %d recipients",
		    ENVELOPE_MAX_RECIPIENTS);
		return;
	}
	r = &cfg->recipients[cfg->nrecipients];
	if (b64_decode_exact(value, r->pk, sizeof(r->pk)) != 0) {
		client_config_error(p,
		    "recipient %s: public_key is not a "
		    "base64 X25519 key (see alertctl keygen recipient)",
		    id);
		return;
	}
	memcpy(r->id, id, strlen(id) + 1);
	cfg->nrecipients++;
}

/* Always 1: errors are counted here, so that inih's own non-zero return
 * means a syntax error. */
static int
client_config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct client_config_parse *p = arg;
	const char *id;

	if (*value == '\0')
		client_config_error(p, "%s has no value", name);
	else if (strcmp(section, "client") == 0)
		client_config_client_key(p, name, value);
	else if (strncmp(section, "recipient ", 10) == 0) {
		id = section + 10;
		if (!id_valid(id))
			client_config_error(p,
			    "[recipient %s]: bad recipient "
			    "id",
			    id);
		else
			client_config_recipient_key(p, id, name, value);
	} else if (strcmp(section, "button") != 0 && /* button_config.c's */
	    strcmp(section, "contactpoint") != 0) /* cp_config.c's */
		client_config_error(p, "unknown section [%s]", section);
	return 1;
}

/* fgets for inih that counts lines and refuses lines longer than inih's
 * buffer, which it would otherwise split into two lines silently. */
static char *
client_config_reader(char *buf, int size, void *arg)
{
	struct client_config_parse *p = arg;
	size_t n;
	int c;

	if (fgets(buf, size, p->f) == NULL)
		return NULL;
	p->lineno++;
	n = strlen(buf);
	if ((n > 0 && buf[n - 1] == '\n') || (c = fgetc(p->f)) == EOF ||
	    c == '\n')
		return buf;
	while ((c = fgetc(p->f)) != EOF && c != '\n')
		;
	client_config_error(p,
	    "line longer than %d characters; split lists "
	    "over several lines",
	    size - 3);
	buf[0] = '\0';
	return buf;
}

static void
client_config_require(struct client_config_parse *p, int ok, const char *what)
{
	if (!ok) {
		log_warnx("%s: %s", p->cfg->path, what);
		p->errors++;
	}
}

static void
client_config_check(struct client_config_parse *p)
{
	const struct client_config *cfg = p->cfg;

	client_config_require(p, cfg->nrelays > 0, "[client] needs relay");
	client_config_require(p, cfg->npins > 0, "[client] needs relay_pin");
	client_config_require(p, cfg->device_id[0] != '\0',
	    "[client] needs device_id");
	client_config_require(p, cfg->device_key != NULL,
	    "[client] needs device_key");
	if (cfg->has_org)
		client_config_require(p, cfg->nrecipients == 0,
		    "[recipient] sections and org_key exclude each other: "
		    "with org_key, recipients come from the signed "
		    "directory");
	else
		client_config_require(p, cfg->nrecipients > 0,
		    "needs at least one [recipient ID] with a public_key, or "
		    "org_key");
}

int
client_config_load(const char *path, struct client_config *cfg)
{
	struct client_config_parse p;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = xstrdup(path);
	cfg->dir_version = -1;
	snprintf(cfg->timezone, sizeof(cfg->timezone), "%s",
	    LTIME_DEFAULT_ZONE);
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	if ((p.f = fopen(path, "r")) == NULL) {
		log_warn("configuration %s", path);
		return -1;
	}
	p.dir = afile_dirname(path);
	rc = ini_parse_stream(client_config_reader, &p, client_config_handler,
	    &p);
	fclose(p.f);
	free(p.dir);
	if (rc > 0) {
		log_warnx("%s:%d: syntax error: expected [section] or key = "
		          "value",
		    path, rc);
		p.errors++;
	} else if (rc < 0) {
		log_warnx("%s: cannot be parsed", path);
		p.errors++;
	}
	if (p.errors == 0)
		client_config_check(&p);
	return p.errors == 0 ? 0 : -1;
}

void
client_config_free(struct client_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nrelays; i++) {
		free(cfg->relays[i].host);
		free(cfg->relays[i].label);
	}
	free(cfg->device_key);
	free(cfg->outbox);
	free(cfg->directory);
	free(cfg->contact);
	free(cfg->gpsd);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

char *
client_config_default_path(void)
{
	return afile_default_path("ALERTCTL_CONF",
	    ".config/alertrelay/alertctl.conf");
}
