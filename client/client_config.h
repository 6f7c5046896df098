/*
 * The client configuration (INI through inih):
 *
 *	[client]
 *	relay = host:port[, host:port ...]
 *	relay_pin = PIN[, PIN ...]
 *	device_id = ID
 *	device_key = FILE		(mode 0600)
 *	outbox = DIR			(optional)
 *	org_key = BASE64		(from enrollment)
 *	directory = FILE		(optional: cached directory)
 *	contact = TEXT			(optional: who to call when the
 *					device is shut out)
 *	timezone = ZONE			(optional: times shown, default
 *					Europe/Amsterdam; ltime.h)
 *	[recipient ID]			(only without org_key)
 *	public_key = BASE64
 *
 * With org_key, recipients (and relay pins) come from the organisation's
 * signed directory instead: the newest one verified, also when a relay
 * serves a newer one to a running process (client/trust.h).
 *
 * relay and relay_pin may be repeated (or continued on indented lines):
 * the values add up.  Unknown sections and keys are errors.  Relative
 * paths are relative to the directory of the configuration file.
 */
#ifndef ALERTCTL_CLIENT_CONFIG_H
#define ALERTCTL_CLIENT_CONFIG_H

#include <stddef.h>

#include <sodium.h>

#include "envelope.h"
#include "ltime.h"
#include "tls.h"
#include "util.h"

#define CLIENT_MAX_RELAYS 16
#define CLIENT_MAX_PINS 16
#define CLIENT_CONTACT_MAX 200

struct client_relay {
	char *host;
	int port;
	char *label; /* "host:port" as written, for messages */
};

struct client_recipient {
	char id[ID_MAX + 1];
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
};

struct client_config {
	char *path;
	struct client_relay relays[CLIENT_MAX_RELAYS];
	size_t nrelays;
	/* The pins in force: relay_pin, or the directory's (trust.h). */
	char pins[CLIENT_MAX_PINS][TLS_PIN_LEN];
	const char *pinv[CLIENT_MAX_PINS]; /* pointers into pins */
	size_t npins;
	/* relay_pin as configured: in force again under a directory that
	 * lists no usable pin, as in a process that starts with it. */
	char conf_pins[CLIENT_MAX_PINS][TLS_PIN_LEN];
	size_t nconf_pins;
	char device_id[ID_MAX + 1];
	char timezone[LTIME_ZONE_MAX]; /* [client] timezone, or the default */
	char *device_key; /* resolved path */
	char *outbox; /* resolved path, NULL when not set */
	struct client_recipient recipients[ENVELOPE_MAX_RECIPIENTS];
	size_t nrecipients;
	int has_org; /* org_key given: trust the signed directory */
	unsigned char org_pk[crypto_sign_PUBLICKEYBYTES];
	char *directory; /* resolved cache path, NULL: the default */
	long long dir_version; /* of the directory in use; -1: none */
	char *contact; /* NULL: not set */
	int shut_out; /* the directory in use revokes or omits this device */
	/* send --follow (follow.h); 0 or NULL: follow.c's defaults */
	long follow_interval; /* seconds between updates */
	long follow_max_updates;
	long follow_max_time; /* seconds */
	char *gpsd; /* host:port of gpsd */
};

/* $ALERTCTL_CONF, else ~/.config/alertrelay/alertctl.conf (caller frees);
 * NULL when neither can be found. */
char *client_config_default_path(void);
/* Logs every problem as file:line: reason; -1 when there was any. */
int client_config_load(const char *path, struct client_config *cfg);
void client_config_free(struct client_config *cfg);

#endif
