/*
 * The configuration's checks once it is parsed (relay_config_int.h):
 * secret files read into guarded memory (and refused unless 0600), SMS
 * channels, gateways and templates, policies, listen addresses, and what
 * the daemon would otherwise only find out when starting.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>

#include "b64.h"
#include "frame.h"
#include "keyfile.h"
#include "log.h"
#include "netaddr.h"
#include "redis_conn.h"
#include "relay_config.h"
#include "relay_config_int.h"
#include "relay_directory.h"
#include "xmalloc.h"

static void
config_load_secret(struct config_parse *p, struct recipient_entry *r)
{
	char err[512], *text;
	unsigned char *key;
	size_t len;

	if (keyfile_read_text(r->webhook_secret_file, 1, &text, err,
	        sizeof(err)) != 0) {
		config_error(p, r->line, "recipient %s: %s", r->id, err);
		return;
	}
	if (whsec_decode(text, &key, &len) != 0)
		config_error(p, r->line,
		    "recipient %s: %s is not a whsec_ secret of %d+ bytes",
		    r->id, r->webhook_secret_file, WHSEC_MIN_BYTES);
	else {
		r->webhook_key = sodium_malloc(len);
		memcpy(r->webhook_key, key, len);
		r->webhook_key_len = len;
		sodium_memzero(key, len);
		free(key);
	}
	sodium_memzero(text, strlen(text));
	free(text);
}

static void
config_check_sms(struct config_parse *p, struct recipient_entry *r)
{
	if ((r->sms == NULL) != (r->sms_gateway == NULL))
		config_error(p, r->line,
		    "recipient %s: sms and sms_gateway go together", r->id);
	else if (r->sms_gateway != NULL &&
	    relay_config_gateway(p->cfg, r->sms_gateway) == NULL)
		config_error(p, r->line, "recipient %s: no [gateway %s]", r->id,
		    r->sms_gateway);
}

/* Tokens are compared, never shown: keep them in guarded memory. */
static void
config_load_ack_token(struct config_parse *p, struct recipient_entry *r)
{
	char err[512], *text;
	size_t len;

	if (keyfile_read_text(r->ack_token_file, 1, &text, err, sizeof(err)) !=
	    0) {
		config_error(p, r->line, "recipient %s: %s", r->id, err);
		return;
	}
	len = strlen(text);
	if (len < 16)
		config_error(p, r->line,
		    "recipient %s: ack token in %s is too short", r->id,
		    r->ack_token_file);
	else {
		r->ack_token = sodium_malloc(len + 1);
		memcpy(r->ack_token, text, len + 1);
	}
	sodium_memzero(text, len);
	free(text);
}

/* The admin token, like every secret file: refused unless 0600. */
static void
config_load_admin_token(struct config_parse *p)
{
	struct relay_config *cfg = p->cfg;
	char err[512], *text;
	size_t len;

	if (cfg->admin_token_file[0] == '\0')
		return;
	if (keyfile_read_text(cfg->admin_token_file, 1, &text, err,
	        sizeof(err)) != 0) {
		config_error(p, config_opt_line(p, "admin", "token_file"),
		    "[admin] token_file: %s", err);
		return;
	}
	len = strlen(text);
	if (len < 16)
		config_error(p, config_opt_line(p, "admin", "token_file"),
		    "[admin] token_file %s: token too short (16 characters "
		    "at least)",
		    cfg->admin_token_file);
	else {
		cfg->admin_token = sodium_malloc(len + 1);
		memcpy(cfg->admin_token, text, len + 1);
	}
	sodium_memzero(text, len);
	free(text);
}

static void
config_check_gateways(struct config_parse *p)
{
	char err[512];
	size_t i;

	for (i = 0; i < p->cfg->ngateways; i++)
		if (sms_gateway_check(&p->cfg->gateways[i], err, sizeof(err)) !=
		    0)
			config_error(p, p->cfg->gateways[i].line,
			    "[gateway %s] %s", p->cfg->gateways[i].name, err);
}

/* The SMS texts: each configured template must give one GSM-7 SMS. */
static void
config_check_templates(struct config_parse *p)
{
	const struct relay_config *cfg = p->cfg;
	enum sms_language lang;
	char err[512];
	size_t i;

	if (sms_template_language(cfg->sms_language, &lang) != 0)
		config_error(p, config_opt_line(p, "delivery", "language"),
		    "[delivery] language must be nl or en");
	for (i = 0; i < SMS_TPL_N; i++)
		if (cfg->sms_templates[i][0] != '\0' &&
		    sms_template_check(i, cfg->sms_templates[i], err,
		        sizeof(err)) != 0)
			config_error(p,
			    config_opt_line(p, "delivery", sms_template_key(i)),
			    "[delivery] %s: %s", sms_template_key(i), err);
}

static void
config_check_policies(struct config_parse *p)
{
	const struct relay_config *cfg = p->cfg;
	char err[512];
	size_t i, j;

	for (i = 0; i < cfg->npolicies; i++) {
		if (policy_check(&cfg->policies[i], cfg, err, sizeof(err)) != 0)
			config_error(p, cfg->policies[i].line, "%s", err);
		for (j = 0; j < i; j++)
			if ((cfg->policies[i].types & cfg->policies[j].types) &&
			    cfg->policies[i].drill == cfg->policies[j].drill)
				config_error(p, cfg->policies[i].line,
				    "policy %s claims an alert type policy %s "
				    "already has",
				    cfg->policies[i].name,
				    cfg->policies[j].name);
	}
}

/* One address, or a comma-separated list; loopback only if asked. */
static void
config_check_addresses(struct config_parse *p, const char *section,
    const char *key, const char *value, int loopback)
{
	char *list = xstrdup(value), *tok, *save = NULL;
	struct sockaddr_storage ss;
	int len, line = config_opt_line(p, section, key);

	for (tok = strtok_r(list, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (netaddr_parse(tok, &ss, &len) != 0)
			config_error(p, line,
			    "[%s] %s: %s is not a numeric address:port",
			    section, key, tok);
		else if (loopback && !netaddr_is_loopback(&ss))
			config_error(p, line,
			    "[%s] %s: %s must be a loopback address (plain "
			    "HTTP, no authentication)",
			    section, key, tok);
	}
	free(list);
}

/* Each worker binds [relay] listen itself (SO_REUSEPORT): port 0 would
 * give each another port. */
static void
config_check_worker_ports(struct config_parse *p)
{
	char *list = xstrdup(p->cfg->listen), *tok, *save = NULL, *host;
	int port;

	for (tok = strtok_r(list, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save))
		if (hostport_parse(tok, &host, &port) == 0) {
			free(host);
			if (port == 0)
				config_error(p,
				    config_opt_line(p, "relay", "listen"),
				    "[relay] listen = %s: with workers > 1 the "
				    "port cannot be 0",
				    tok);
		}
	free(list);
}

/* Worker i's admin listener is on the configured port + i
 * (workers.h): all of them must be ports. */
static void
config_check_workers(struct config_parse *p)
{
	const struct relay_config *cfg = p->cfg;
	char *host;
	int port;

	if (cfg->workers <= 1)
		return;
	config_check_worker_ports(p);
	if (cfg->admin_listen[0] == '\0' ||
	    hostport_parse(cfg->admin_listen, &host, &port) != 0)
		return;
	free(host);
	if (port != 0 && port + cfg->workers - 1 > 65535)
		config_error(p, config_opt_line(p, "relay", "workers"),
		    "[relay] workers = %ld: the admin listeners take ports "
		    "%d to %ld, beyond 65535",
		    cfg->workers, port, port + cfg->workers - 1);
}

/* What the daemon would otherwise only find out when starting. */
static void
config_check_runtime(struct config_parse *p)
{
	const struct relay_config *cfg = p->cfg;
	char *host;
	int port, ok;

	config_check_addresses(p, "relay", "listen", cfg->listen, 0);
	config_check_addresses(p, "admin", "listen", cfg->admin_listen, 1);
	config_check_addresses(p, "ack", "listen", cfg->ack_listen, 0);
	config_check_addresses(p, "ack", "listen_plain", cfg->ack_listen_plain,
	    1);
	ok = 0;
	if (cfg->redis_sentinels[0] != '\0') {
		config_check_addresses(p, "redis", "sentinels",
		    cfg->redis_sentinels, 0);
		ok = 1;
	} else if (strncmp(cfg->redis_address, "unix:", 5) == 0)
		ok = redis_address_valid(cfg->redis_address);
	else if (hostport_parse(cfg->redis_address, &host, &port) == 0) {
		free(host);
		ok = redis_address_valid(cfg->redis_address);
	}
	if (!ok)
		config_error(p, config_opt_line(p, "redis", "address"),
		    "[redis] address must be a numeric host:port or "
		    "unix:/path");
	if (cfg->user[0] != '\0' && getpwnam(cfg->user) == NULL)
		config_error(p, config_opt_line(p, "relay", "user"),
		    "[relay] user %s: no such user", cfg->user);
	config_check_workers(p);
}

void
config_check_entries(struct config_parse *p)
{
	static const unsigned char zero[crypto_sign_PUBLICKEYBYTES];
	struct relay_config *cfg = p->cfg;
	size_t i;

	for (i = 0; i < cfg->ndevices; i++)
		if (sodium_memcmp(cfg->devices[i].sign_pk, zero,
		        sizeof(zero)) == 0)
			config_error(p, cfg->devices[i].line,
			    "device %s has no public_key", cfg->devices[i].id);
	for (i = 0; i < cfg->nrecipients; i++) {
		struct recipient_entry *r = &cfg->recipients[i];

		if ((r->webhook_url == NULL) !=
		    (r->webhook_secret_file == NULL))
			config_error(p, r->line,
			    "recipient %s: webhook_url and webhook_secret_file "
			    "go together",
			    r->id);
		else if (r->webhook_secret_file != NULL)
			config_load_secret(p, r);
		if (r->webhook_url == NULL && r->sms == NULL)
			log_warnx("recipient %s has no delivery channel",
			    r->id);
		config_check_sms(p, r);
		if (r->ack_token_file != NULL)
			config_load_ack_token(p, r);
	}
	config_check_gateways(p);
	config_check_templates(p);
	config_check_policies(p);
	config_check_runtime(p);
	config_load_admin_token(p);
}
