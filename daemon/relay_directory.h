/*
 * The relay's side of the signed directory (docs/DIRECTORY.md): with
 * [relay] directory and org_key set, devices and recipients come from the
 * directory, checked against the organisation key, and the [recipient]
 * sections only add what the relay itself holds (webhook secrets, the SMS
 * gateway, acknowledgement tokens).
 */
#ifndef ALERTRELAY_RELAY_DIRECTORY_H
#define ALERTRELAY_RELAY_DIRECTORY_H

#include <stdio.h>

#include "relay_config.h"

/* Loads, verifies and merges the directory into cfg (devices and
 * recipients not yet sorted); org_key is the key or a file holding it,
 * relative to dir.  Problems go to errout as "file:line: text"; returns
 * how many there were. */
int relay_directory_merge(struct relay_config *cfg, const char *dir, int line,
    FILE *errout);

/* May the configuration next replace cur (a reload)?  Refuses a
 * directory older than the running one, or a reload that drops it. */
int relay_directory_successor(const struct relay_config *cur,
    const struct relay_config *next, char *err, size_t errlen);

/* Does sig over this envelope verify with the device's key (or with a
 * key it had when the envelope was created)? */
int relay_device_verify_envelope(const struct device_entry *dev,
    const char *json, size_t len, const unsigned char *sig);

#endif
