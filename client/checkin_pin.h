/*
 * The PIN of alertctl checkin extend and done (docs/SECURITY.md,
 * "Duress"): asked as cancel asks it, whenever the device shows PINs,
 * and told to the relay only as the signed duress flag of the request
 * (checkin_req.h).  With the duress PIN, or on a device whose PINs were
 * forced, the person sees exactly what the own PIN gives, while the
 * relay raises the prepared alarm at once.
 */
#ifndef ALERTCTL_CHECKIN_PIN_H
#define ALERTCTL_CHECKIN_PIN_H

#include "checkin_req.h"
#include "device.h"

/* Sets r->pinned and r->duress from the PIN file of d and the PIN read:
 * 0, or -1 after a wrong PIN or an unusable file (said; nothing is to
 * be sent). */
int checkin_pin(const struct device *d, struct checkin_req *r);

#endif
