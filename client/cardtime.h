/*
 * How long ago, as the contact point's people read it ("3 min ago").
 * Local times with their zone are ltime.h's (receipt_time() for the
 * RFC 3339 times the relay sends); machine output keeps those as given.
 */
#ifndef ALERTCTL_CARDTIME_H
#define ALERTCTL_CARDTIME_H

#include <stddef.h>

#define CARDTIME_LEN 64

/* "45 s", "12 min", "3 h 5 min", "2 d"; seconds, not negative. */
void cardtime_age(long secs, char out[CARDTIME_LEN]);
/* Seconds from an RFC 3339 time to now (0 when in the future or
 * unreadable: then *ok is 0). */
long cardtime_since(const char *rfc3339, int *ok);

#endif
