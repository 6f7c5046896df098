/*
 * The contact point's part of alertctl.conf, for `alertctl ack`,
 * `alertctl inbox` and `alertctl receive`:
 *
 *	[contactpoint]
 *	ack_url = https://HOST:PORT	the relay's [ack] listen
 *	relay_pin = PIN			alertctl pin relay.crt (or cacert)
 *	cacert = FILE			instead of relay_pin
 *	token_file = FILE		the recipient's ack token (0600)
 *	recipient_key = FILE		its X25519 key, for receive
 *	directory = FILE		the signed directory, for receive
 *	org_key = KEY | FILE		the organisation's public key
 *	timezone = ZONE			local times (else [client]
 *					timezone, else Europe/Amsterdam)
 *
 * Other sections are client_config.c's and are skipped here, but for
 * [client] timezone: one zone for a person's times, set once.  Relative
 * paths are relative to the file's directory.
 */
#ifndef ALERTCTL_CP_CONFIG_H
#define ALERTCTL_CP_CONFIG_H

struct cp_config {
	char *path;
	int present; /* the file has a [contactpoint] section */
	char *ack_url, *relay_pin, *cacert, *token_file;
	char *recipient_key, *directory, *org_key, *timezone;
	char *sign_key; /* the recipient's Ed25519 key (signed acks) */
	char *client_timezone; /* [client] timezone, the fallback */
};

/* 0 (also when the file has no [contactpoint]: then present is 0), or
 * -1 with every problem logged as file:line. */
int cp_config_load(const char *path, struct cp_config *cfg);
/* -c FILE, else the default alertctl.conf when it exists: 0 with cfg
 * filled (present 0 when there is none), -1 when it is broken. */
int cp_config_find(const char *config, struct cp_config *cfg);
/* The zone the contact point's times are shown in (ltime.h): given
 * (--timezone), else [contactpoint] timezone, else [client] timezone,
 * else Europe/Amsterdam.  0; or -1, the zone left as it was, when that
 * name is not a zone of the tz database: *name is the name chosen. */
int cp_config_zone(const struct cp_config *cfg, const char *given,
    const char **name);
void cp_config_free(struct cp_config *cfg);

#endif
