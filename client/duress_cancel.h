/*
 * The cancel of a device with PINs (docs/PROTOCOL.md, "Cancel v2"): the
 * PIN is asked, checked against both hashes, and the cancel is signed
 * with the duress flag inside, the same size either way.  What the
 * person at the device sees does not depend on which PIN it was.
 */
#ifndef ALERTCTL_DURESS_CANCEL_H
#define ALERTCTL_DURESS_CANCEL_H

#include <jansson.h>

#include "device.h"

#define CANCEL2_VERSION 2

/* The cancel frame of a device with a PIN file; *done set.  NULL, *done
 * 1: a wrong PIN or an unusable PIN file (told on stderr).  NULL, *done
 * 0: this device has no PIN file: cancel v1, as before. */
json_t *duress_cancel_frame(const struct device *d, const char *alert_id,
    int *done);
/* An error answer to a cancel: a relay older than cancel v2 answers a
 * v2 cancel (real or duress alike) bad_signature.  Then the person at
 * the device sees what a cancel prints (a watcher learns nothing) and
 * the alert stays open at that relay: the safe side for a duress
 * cancel, and for a real one the recipients keep coming.  -1 for any
 * other error, or for a v1 cancel. */
int duress_cancel_refused(const json_t *o, void *opts);
/* Cancel v1, for a device without a PIN file. */
#define CANCEL_VERSION 1
json_t *duress_cancel_plain(const struct device *d, const char *alert_id);
/* The v2 frame itself, for a flag already known (0 or 1). */
json_t *duress_cancel_build(const struct device *d, const char *alert_id,
    int duress);

#endif
