/*
 * Dropping root: after the listeners are bound and the keys loaded, a
 * daemon started as root becomes the configured user, or refuses to run.
 */
#ifndef ALERTRELAY_PRIVDROP_H
#define ALERTRELAY_PRIVDROP_H

/* Returns 0 when the process no longer runs as root (or never did);
 * -1 with a logged reason otherwise.  user may be "" (none configured). */
int privdrop(const char *user);

#endif
