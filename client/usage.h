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

/* A subcommand of an administrator's command (device, recipient): its
 * name, the argument it takes, and which of the command's options. */
struct usage_sub {
	const char *name;
	const char *arg; /* its argument, NULL: none */
	unsigned options; /* bits the command defines */
};

/* The entry for sub, given nargs arguments after it; NULL once a usage
 * error (unknown subcommand, wrong number of arguments) is logged. */
const struct usage_sub *usage_sub_find(const char *command,
    const struct usage_sub *subs, size_t nsubs, const char *sub, int nargs);

#endif
