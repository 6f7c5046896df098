/*
 * Enrollment from the administrator's bundle (alertctl device add): writes
 * CONFDIR/device.key (the device's secret key, as keygen writes it) and
 * CONFDIR/alertctl.conf ([client]: relays, pins, device_id, device_key,
 * org_key), both mode 0600, and, when the bundle carries the signed
 * directory, CONFDIR/directory.signed, the device's first verified
 * directory, below which no relay can take it (bundle.h).  Without force
 * nothing is replaced: the key there may be the one that device is
 * enrolled with.
 */
#ifndef ALERTCTL_ENROLL_H
#define ALERTCTL_ENROLL_H

#include "bundle.h"

#define ENROLL_KEY_FILE "device.key"
#define ENROLL_CONF_FILE "alertctl.conf"
#define ENROLL_DIR_FILE "directory.signed"

/* Reads the bundle into *b and writes the device's files, conf being the
 * configuration's path (the others go next to it).  0 with *b kept
 * (bundle_free); -1 (logged), or -2 when a file is there already and
 * force is 0; *b freed then. */
int enroll_bundle(const char *bundle_path, const char *conf, int force,
    struct bundle *b);

#endif
