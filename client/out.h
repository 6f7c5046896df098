/*
 * What the user asked for goes to stdout, one line at a time and flushed
 * at once, so a wrapper script sees progress as it happens.  Diagnostics
 * go through log.h instead.
 */
#ifndef ALERTCTL_OUT_H
#define ALERTCTL_OUT_H

#include "log.h"

int out_line(const char *fmt, ...) PRINTFLIKE(1, 2);

#endif
