/*
 * ar_enroll: what `alertctl enroll` does, from an application: the
 * device's key, configuration and first signed directory written from
 * the administrator's bundle (client/enroll.h).  Local files only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_internal.h"
#include "client_config.h"
#include "enroll.h"
#include "xmalloc.h"

/* The caller's buffer holds the bundle's device_id: checked before any
 * file is written, so that AR_E_NOSPACE leaves nothing behind. */
static int
ar_enroll_fits(const char *bundle_path, size_t device_id_len)
{
	struct bundle b;
	char err[512];
	int rc;

	if (bundle_read(bundle_path, &b, err, sizeof(err)) != 0)
		return AR_E_BUNDLE;
	rc = strlen(b.device_id) < device_id_len ? AR_OK : AR_E_NOSPACE;
	bundle_free(&b);
	return rc;
}

AR_API int
ar_enroll(const char *bundle_path, const char *config_path, unsigned flags,
    char *device_id, size_t device_id_len)
{
	struct bundle b;
	char *conf;
	int rc;

	if (bundle_path == NULL || (flags & ~AR_ENROLL_FORCE) != 0)
		return AR_E_INVAL;
	if (!ar_initialised())
		return AR_E_NOT_INIT;
	if (device_id != NULL &&
	    (rc = ar_enroll_fits(bundle_path, device_id_len)) != AR_OK)
		return rc;
	conf = config_path != NULL ? xstrdup(config_path)
	                           : client_config_default_path();
	if (conf == NULL)
		return AR_E_CONFIG;
	rc = enroll_bundle(bundle_path, conf, (flags & AR_ENROLL_FORCE) != 0,
	    &b);
	free(conf);
	if (rc == -2)
		return AR_E_EXISTS;
	if (rc != 0)
		return AR_E_BUNDLE;
	rc = AR_OK;
	if (device_id != NULL) {
		if (strlen(b.device_id) >= device_id_len)
			rc = AR_E_NOSPACE;
		else
			snprintf(device_id, device_id_len, "%s", b.device_id);
	}
	bundle_free(&b);
	return rc;
}
