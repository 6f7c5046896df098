/*
 * What the user asked for goes to stdout, one line at a time and flushed
 * at once, so a wrapper script sees progress as it happens.  Diagnostics
 * go through log.h instead.
 */
#ifndef ALERTCTL_OUT_H
#define ALERTCTL_OUT_H

#include <stddef.h>

#include <jansson.h>

#include "log.h"

int out_line(const char *fmt, ...) PRINTFLIKE(1, 2);
/* A JSON value as one compact line (jansson escapes control
 * characters). */
int out_json(const json_t *v);
/* A string the relay chose, made safe for a terminal or a log: control
 * characters (C0, DEL, C1) become '?', cut to len - 1 bytes.  Returns
 * buf. */
char *out_clean(const char *in, char *buf, size_t len);

#endif
