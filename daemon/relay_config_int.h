/*
 * What the configuration's loader (relay_config.c: the option table and
 * the sections) and its checks (relay_config_check.c: secret files, SMS,
 * templates, policies, addresses, what a start would find out) share.
 * Private to them: the rest of the relay uses relay_config.h.
 */
#ifndef ALERTRELAY_RELAY_CONFIG_INT_H
#define ALERTRELAY_RELAY_CONFIG_INT_H

#include <stdio.h>

#include "relay_config.h"

/* At least the number of keys in the option table (checked there). */
#define RELAY_CONFIG_NOPTS_MAX 128

struct config_parse {
	struct relay_config *cfg;
	FILE *in;
	FILE *errout;
	const char *dir; /* for relative paths */
	int line;
	int errors;
	int set[RELAY_CONFIG_NOPTS_MAX];
	int set_line[RELAY_CONFIG_NOPTS_MAX];
};

void config_error(struct config_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The line a key was set on, or 0. */
int config_opt_line(const struct config_parse *p, const char *section,
    const char *key);
/* After parsing: secret files read, and every cross-check. */
void config_check_entries(struct config_parse *p);

#endif
