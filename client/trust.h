/*
 * The device's trust in its organisation (docs/DIRECTORY.md): with
 * org_key in the configuration, the recipients an alert is sealed to and
 * the relay pins come from the newest signed directory this device has
 * verified, kept in a cache file.  Each session asks the relay for the
 * current one; a directory that does not verify with the organisation
 * key, or is older than the cached one, is refused.  A newer one that
 * verifies is kept and takes effect at once in the running process (the
 * button, watch, a libalertclient program), not only in the next one.
 */
#ifndef ALERTCTL_TRUST_H
#define ALERTCTL_TRUST_H

#include <stddef.h>

#include <jansson.h>

#include "client_config.h"

/* cfg->directory, else one per device and organisation under
 * $XDG_STATE_HOME/alertrelay (caller frees; NULL without a home). */
char *trust_cache_path(const struct client_config *cfg);

/* What a verified directory decides in cfg: the recipients alerts are
 * sealed to, the relay pins (its own, else relay_pin as configured),
 * dir_version and shut_out.  One function sets them (trust.c,
 * trust_apply), exactly as at the start of a process, in two places:
 * here, and in trust_accept. */

/* Loads the cached directory into cfg.  -1 (and loudly) when the cache
 * does not verify: someone tampered with it; cfg is left as it was. */
int trust_open(struct client_config *cfg);

/* The relay's answer to {"type":"directory","have":cfg->dir_version}.
 * Verifies it; a newer one is cached and then applied to cfg
 * (trust_apply), so that the next connection and the next sealing use
 * it.  -1 with err on a forged, rolled-back or missing directory, or one
 * that cannot be kept: cfg is left as it was. */
int trust_accept(struct client_config *cfg, const json_t *frame, char *err,
    size_t errlen);

#endif
