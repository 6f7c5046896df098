/*
 * Each device connection is a file descriptor.  A daemon started by hand
 * often has a soft limit of 1024: raise it towards the hard limit so
 * max_connections can be reached, and say so when it cannot (as Redis
 * does with maxclients).
 */
#ifndef ALERTRELAY_FDLIMIT_H
#define ALERTRELAY_FDLIMIT_H

/* Descriptors the daemon needs besides device connections: Redis,
 * webhooks and SMS in flight, listeners, logs. */
#define FDLIMIT_RESERVE 1024

/* Raises RLIMIT_NOFILE for max_connections devices and http connections
 * on the HTTP listeners; logs what it got.  fdbudget.h then shares out
 * what there is. */
void fdlimit_raise(long max_connections, long http);

#endif
