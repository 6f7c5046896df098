/*
 * The audit log's side of the configuration (audit.h): the key checked
 * at start and by -t, and what a reload changed that the log must show
 * (devices revoked or removed from the directory).
 */
#include <stdio.h>

#include <sodium.h>

#include "audit.h"
#include "keyfile.h"
#include "relay.h"
#include "relay_config.h"

int
audit_config_check(const struct relay_config *cfg, FILE *errout)
{
	unsigned char *sk;
	char err[512];
	int rc = 0;

	if (cfg->audit_key_file[0] == '\0')
		return 0;
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return -1;
	if (keyfile_read(cfg->audit_key_file, sk, crypto_sign_SECRETKEYBYTES, 1,
	        err, sizeof(err)) != 0) {
		fprintf(errout, "%s: [audit] key_file: %s\n", cfg->path, err);
		rc = -1;
	}
	sodium_free(sk);
	return rc;
}

void
audit_config_changes(struct relay *relay, const struct relay_config *old,
    const struct relay_config *next)
{
	const struct device_entry *d, *was;
	char obj[ID_MAX + 8];
	size_t i;

	for (i = 0; i < next->ndevices; i++) {
		d = &next->devices[i];
		was = relay_config_device(old, d->id);
		if (!d->revoked || (was != NULL && was->revoked))
			continue;
		snprintf(obj, sizeof(obj), "device:%s", d->id);
		audit_relay(relay, "device.revoked", obj, "ok", NULL, "relay",
		    "relay", "directory");
	}
	for (i = 0; i < old->ndevices; i++) {
		d = &old->devices[i];
		if (relay_config_device(next, d->id) != NULL)
			continue;
		snprintf(obj, sizeof(obj), "device:%s", d->id);
		audit_relay(relay, "device.removed", obj, "ok", NULL, "relay",
		    "relay", "directory");
	}
}
