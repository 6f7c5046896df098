/*
 * The cancel frames (docs/PROTOCOL.md, "Cancel" and "Cancel v2"): v1 for
 * a device without PINs; v2 for one with them, the PIN checked against
 * every hash (lib/ar_request.c) and the cancel signed with the duress
 * flag inside, the same size either way.  What the person at the device
 * sees does not depend on which PIN it was; a relay older than cancel v2
 * answers a v2 cancel bad_signature, which is told as a cancel (the
 * alert stays open there: the safe side for a duress cancel).
 */
#ifndef ALERTCTL_DURESS_CANCEL_H
#define ALERTCTL_DURESS_CANCEL_H

#include <jansson.h>

#include "device.h"

#define CANCEL2_VERSION 2

/* Cancel v1, for a device without a PIN file. */
#define CANCEL_VERSION 1
json_t *duress_cancel_plain(const struct device *d, const char *alert_id);
/* The v2 frame itself, for a flag already known (0 or 1). */
json_t *duress_cancel_build(const struct device *d, const char *alert_id,
    int duress);

#endif
