/*
 * Reading console.conf (inih): a [console] section and one
 * [recipient ID] section per recipient the console receives for.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "console.h"
#include "console_host.h"
#include "console_map.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define CONSOLE_DEFAULT_LISTEN "127.0.0.1:8480"
#define CONSOLE_DEFAULT_STATE "/var/lib/alertconsole"
#define CONSOLE_DEFAULT_STATIC "/usr/local/share/alertconsole/static"
#define CONSOLE_DEFAULT_LEAFLET "/usr/share/javascript/leaflet"
#define CONSOLE_DEFAULT_ATTRIBUTION "© OpenStreetMap-bijdragers"

/* The numeric keys of [console] for the listeners' limits and the event
 * streams: name, where, bounds (defaults in console_config_defaults). */
#define CONSOLE_NUM(field) offsetof(struct console_config, field)
static const struct long_key console_config_nums[] = {
    {"max_connections", CONSOLE_NUM(limits.max_conns), 1, 100000},
    {"max_connections_per_address", CONSOLE_NUM(limits.max_per_addr), 1,
        100000},
    {"conn_rate", CONSOLE_NUM(limits.conn_rate), 0, 100000},
    {"conn_burst", CONSOLE_NUM(limits.conn_burst), 1, 100000},
    {"request_timeout", CONSOLE_NUM(limits.request_timeout), 1, 300},
    {"max_event_streams", CONSOLE_NUM(max_streams), 1, 4096},
    {"max_event_streams_per_address", CONSOLE_NUM(max_streams_per_addr), 1,
        4096},
    {"max_exports", CONSOLE_NUM(max_exports), 1, 64},
    {"export_timeout", CONSOLE_NUM(export_timeout), 1, 86400},
};

struct console_config_parse {
	struct console_config *cfg;
	int bad;
};

static void
console_config_set(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

/* The keys of the listeners' limits, the event streams and the map;
 * 1 when name is none of them. */
static int
console_config_view(struct console_config *cfg, const char *name,
    const char *value)
{
	int rc = parse_long_key(console_config_nums,
	    sizeof(console_config_nums) / sizeof(console_config_nums[0]), cfg,
	    name, value);

	if (rc != 1)
		return rc;
	if (strcmp(name, "map_tiles") == 0)
		console_config_set(&cfg->map_tiles, value);
	else if (strcmp(name, "map_attribution") == 0)
		console_config_set(&cfg->map_attribution, value);
	else if (strcmp(name, "leaflet_dir") == 0)
		console_config_set(&cfg->leaflet_dir, value);
	else
		return 1;
	return 0;
}

static int
console_config_main(struct console_config *cfg, const char *name,
    const char *value)
{
	int rc;

	if ((rc = console_config_view(cfg, name, value)) != 1)
		return rc;
	if (strcmp(name, "listen") == 0)
		console_config_set(&cfg->listen, value);
	else if (strcmp(name, "webhook_listen") == 0)
		console_config_set(&cfg->webhook_listen, value);
	else if (strcmp(name, "state_dir") == 0)
		console_config_set(&cfg->state_dir, value);
	else if (strcmp(name, "static_dir") == 0)
		console_config_set(&cfg->static_dir, value);
	else if (strcmp(name, "user") == 0)
		console_config_set(&cfg->user, value);
	else if (strcmp(name, "directory") == 0)
		console_config_set(&cfg->directory, value);
	else if (strcmp(name, "org_key") == 0)
		console_config_set(&cfg->org_key, value);
	else if (strcmp(name, "devices") == 0)
		console_config_set(&cfg->devices, value);
	else if (strcmp(name, "tls_cert") == 0)
		console_config_set(&cfg->tls_cert, value);
	else if (strcmp(name, "tls_key") == 0)
		console_config_set(&cfg->tls_key, value);
	else if (strcmp(name, "tls_client_ca") == 0)
		console_config_set(&cfg->tls_client_ca, value);
	else if (strcmp(name, "metrics_listen") == 0)
		console_config_set(&cfg->metrics_listen, value);
	else if (strcmp(name, "server_name") == 0) {
		if (console_host_names_ok(value) != 0)
			return -1;
		console_config_set(&cfg->server_name, value);
	} else if (strcmp(name, "session_idle") == 0)
		return parse_long(value, 10, 7L * 86400, &cfg->session_idle);
	else if (strcmp(name, "login_max_fail") == 0)
		return parse_long(value, 1, 1000, &cfg->login_max_fail);
	else if (strcmp(name, "login_lockout") == 0)
		return parse_long(value, 1, 86400, &cfg->login_lockout);
	else if (strcmp(name, "login_addr_max") == 0)
		return parse_long(value, 1, 100000, &cfg->login_addr_max);
	else if (strcmp(name, "alarm_interval") == 0)
		return parse_long(value, 2, 600, &cfg->alarm_interval);
	else if (strcmp(name, "max_age") == 0)
		return parse_long(value, 0, 366L * 86400, &cfg->max_age);
	else if (strcmp(name, "old") == 0) {
		if (strcmp(value, "mark") != 0 && strcmp(value, "refuse") != 0)
			return -1;
		cfg->refuse_old = strcmp(value, "refuse") == 0;
	} else
		return -1;
	return 0;
}

struct console_recipient *
console_config_find(struct console_config *cfg, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < cfg->nrcpt; i++)
		if (strcmp(cfg->rcpt[i].id, id) == 0)
			return &cfg->rcpt[i];
	return NULL;
}

/* The section [recipient ID] for id, made on its first line. */
static struct console_recipient *
console_config_rcpt(struct console_config *cfg, const char *id)
{
	struct console_recipient *r = console_config_find(cfg, id);

	if (r != NULL)
		return r;
	if (cfg->nrcpt == CONSOLE_MAX_RECIPIENTS || !id_valid(id))
		return NULL;
	r = &cfg->rcpt[cfg->nrcpt++];
	r->id = xstrdup(id);
	snprintf(r->path, sizeof(r->path), "/hook/%s", id);
	return r;
}

static int
console_config_recipient(struct console_config *cfg, const char *id,
    const char *name, const char *value)
{
	struct console_recipient *r = console_config_rcpt(cfg, id);

	if (r == NULL)
		return -1;
	if (strcmp(name, "key") == 0) {
		if (r->nkeys == HOOK_MAX_KEYS)
			return -1;
		r->keys[r->nkeys++] = xstrdup(value);
	} else if (strcmp(name, "webhook_secret_file") == 0)
		console_config_set(&r->secret_file, value);
	else if (strcmp(name, "ack_url") == 0) {
		if (strncasecmp(value, "https://", 8) != 0 || value[8] == '\0')
			return -1;
		console_config_set(&r->ack_url, value);
	} else if (strcmp(name, "ack_token_file") == 0)
		console_config_set(&r->ack_token_file, value);
	else if (strcmp(name, "ack_pin") == 0)
		console_config_set(&r->ack_pin, value);
	else if (strcmp(name, "ack_cacert") == 0)
		console_config_set(&r->ack_cacert, value);
	else if (strcmp(name, "ack_sign_key") == 0)
		console_config_set(&r->ack_sign_key_file, value);
	else
		return -1;
	return 0;
}

static int
console_config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct console_config_parse *p = arg;
	int rc = -1;

	if (strcmp(section, "console") == 0)
		rc = console_config_main(p->cfg, name, value);
	else if (strncmp(section, "recipient ", 10) == 0)
		rc =
		    console_config_recipient(p->cfg, section + 10, name, value);
	else if (strcmp(section, "retention") == 0)
		rc = console_retention_key(&p->cfg->retention, name, value);
	if (rc != 0) {
		log_warnx("config: [%s] %s: unknown key or bad value", section,
		    name);
		p->bad = 1;
	}
	return 1;
}

static void
console_config_defaults(struct console_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = xstrdup(CONSOLE_DEFAULT_LISTEN);
	cfg->state_dir = xstrdup(CONSOLE_DEFAULT_STATE);
	cfg->static_dir = xstrdup(CONSOLE_DEFAULT_STATIC);
	cfg->user = xstrdup("");
	cfg->max_age = HOOK_MAX_AGE_DEFAULT;
	cfg->limits.max_conns = 256;
	cfg->limits.max_per_addr = 64;
	cfg->limits.conn_rate = 50;
	cfg->limits.conn_burst = 200;
	cfg->limits.request_timeout = 10;
	cfg->max_streams = 64;
	cfg->max_streams_per_addr = 8;
	cfg->max_exports = 4;
	cfg->export_timeout = 600;
	cfg->map_attribution = xstrdup(CONSOLE_DEFAULT_ATTRIBUTION);
	cfg->leaflet_dir = xstrdup(CONSOLE_DEFAULT_LEAFLET);
	cfg->session_idle = 12L * 3600; /* a night shift */
	cfg->login_max_fail = 10;
	cfg->login_lockout = 900;
	cfg->login_addr_max = 50;
	cfg->alarm_interval = 10;
	console_retention_defaults(&cfg->retention);
}

static int
console_config_check(const struct console_config *cfg)
{
	size_t i;

	if (cfg->nrcpt == 0)
		return log_warnx("config: no [recipient ID] section"), -1;
	for (i = 0; i < cfg->nrcpt; i++)
		if ((cfg->rcpt[i].ack_url == NULL) !=
		        (cfg->rcpt[i].ack_token_file == NULL) ||
		    (cfg->rcpt[i].ack_pin != NULL &&
		        cfg->rcpt[i].ack_cacert != NULL)) {
			log_warnx("config: [recipient %s] ack_url and "
			          "ack_token_file go together; ack_pin or "
			          "ack_cacert, not both",
			    cfg->rcpt[i].id);
			return -1;
		}
	for (i = 0; i < cfg->nrcpt; i++)
		if (cfg->rcpt[i].nkeys == 0 ||
		    cfg->rcpt[i].secret_file == NULL) {
			log_warnx("config: [recipient %s] needs key and "
			          "webhook_secret_file",
			    cfg->rcpt[i].id);
			return -1;
		}
	if ((cfg->directory == NULL) == (cfg->devices == NULL)) {
		log_warnx("config: give either directory (with org_key) or "
		          "devices");
		return -1;
	}
	if ((cfg->directory == NULL) != (cfg->org_key == NULL)) {
		log_warnx("config: directory and org_key go together");
		return -1;
	}
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		log_warnx("config: tls_cert and tls_key go together");
		return -1;
	}
	if (cfg->tls_client_ca != NULL && cfg->tls_cert == NULL) {
		log_warnx("config: tls_client_ca needs tls_cert and tls_key");
		return -1;
	}
	if (cfg->max_streams_per_addr > cfg->max_streams) {
		log_warnx("config: max_event_streams_per_address is above "
		          "max_event_streams");
		return -1;
	}
	if (console_retention_check(&cfg->retention) != 0)
		return -1;
	return console_map_check(cfg);
}

int
console_config_load(const char *path, struct console_config *cfg)
{
	struct console_config_parse p = {cfg, 0};
	int rc;

	console_config_defaults(cfg);
	rc = ini_parse(path, console_config_handler, &p);
	if (rc < 0) {
		log_warnx("config: cannot read %s", path);
		return -1;
	}
	if (rc > 0) {
		log_warnx("config: %s: syntax error on line %d", path, rc);
		return -1;
	}
	if (p.bad)
		return -1;
	return console_config_check(cfg);
}

void
console_config_free(struct console_config *cfg)
{
	size_t i, j;

	free(cfg->listen);
	free(cfg->webhook_listen);
	free(cfg->state_dir);
	free(cfg->static_dir);
	free(cfg->user);
	free(cfg->directory);
	free(cfg->org_key);
	free(cfg->devices);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_client_ca);
	free(cfg->map_tiles);
	free(cfg->map_attribution);
	free(cfg->leaflet_dir);
	free(cfg->metrics_listen);
	free(cfg->server_name);
	for (i = 0; i < cfg->nrcpt; i++) {
		free(cfg->rcpt[i].id);
		free(cfg->rcpt[i].secret_file);
		free(cfg->rcpt[i].ack_url);
		free(cfg->rcpt[i].ack_token_file);
		free(cfg->rcpt[i].ack_pin);
		free(cfg->rcpt[i].ack_cacert);
		free(cfg->rcpt[i].ack_sign_key_file);
		for (j = 0; j < cfg->rcpt[i].nkeys; j++)
			free(cfg->rcpt[i].keys[j]);
	}
	memset(cfg, 0, sizeof(*cfg));
}
