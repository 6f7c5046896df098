/*
 * The device's trust in its organisation (docs/DIRECTORY.md): with
 * org_key in the configuration, the recipients an alert is sealed to and
 * the relay pins come from the newest signed directory this device has
 * verified, kept in a cache file.  Each session asks the relay for the
 * current one; a directory that does not verify with the organisation
 * key, or is older than the cached one, is refused.
 */
#ifndef ALERTCTL_TRUST_H
#define ALERTCTL_TRUST_H

#include <stddef.h>

#include <jansson.h>

#include "client_config.h"

/* cfg->directory, else one per device and organisation under
 * $XDG_STATE_HOME/alertrelay (caller frees; NULL without a home). */
char *trust_cache_path(const struct client_config *cfg);

/* Loads the cached directory into cfg's recipients and pins.  -1 (and
 * loudly) when the cache does not verify: someone tampered with it. */
int trust_open(struct client_config *cfg);

/* The relay's answer to {"type":"directory","have":*version}.  Verifies
 * it; a newer one is cached and *version raised.  -1 with err on a
 * forged, rolled-back or missing directory. */
int trust_accept(const struct client_config *cfg, long long *version,
    const json_t *frame, char *err, size_t errlen);

#endif
