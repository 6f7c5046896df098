/*
 * What the relay needs once it is no longer root, checked while it still
 * is: for `alertrelayd -t` run as root, and as warnings at a start as
 * root.
 */
#ifndef ALERTRELAY_PRIVCHECK_H
#define ALERTRELAY_PRIVCHECK_H

#include <stdio.h>

#include "relay_config.h"

/* Writes one line per problem to errout, each with how to fix it;
 * returns how many.  Only meaningful when running as root. */
int privcheck(const struct relay_config *cfg, FILE *errout);

#endif
