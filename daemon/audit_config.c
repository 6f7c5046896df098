/*
 * What a reload changed that the audit log must show: devices revoked
 * and devices removed from the directory (audit.h).
 */
#include <stdio.h>

#include "audit.h"
#include "relay.h"
#include "relay_config.h"

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
