/*
 * The administrator's listings as JSON (device list --json, recipient
 * list --json): one document on stdout, stable keys, for scripts
 * (alertctl(1), JSON OUTPUT).
 */
#ifndef ALERTCTL_ORGDIR_JSON_H
#define ALERTCTL_ORGDIR_JSON_H

#include "orgdir.h"

/* {"devices":[{"id","alias","status","public_key","retired_keys":
 * [{"public_key","until"}]}]}; the exit code. */
int orgdir_json_devices(const struct orgdir *o);
/* {"recipients":[{"id","alias","public_key","channels":{"webhook",
 * "sms"}}]}, a channel null when the recipient has none; the exit
 * code. */
int orgdir_json_recipients(const struct orgdir *o);

#endif
