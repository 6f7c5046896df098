/*
 * Help texts and usage errors.  All help text lives in usage.c so it can
 * be reviewed (and later translated) in one place.
 */
#ifndef ALERTCTL_USAGE_H
#define ALERTCTL_USAGE_H

#include <stdio.h>

#include "log.h"

/* Prints the help of command (NULL: the program) to f. */
void usage_print(const char *command, FILE *f);
/* 1 when command has help text, that is, exists. */
int usage_known(const char *command);
/* Logs "command: message (see --help)" and returns EXIT_USAGE. */
int usage_error(const char *command, const char *fmt, ...) PRINTFLIKE(2, 3);

#endif
