/*
 * Times as the contact point's people read them: local time with its
 * zone ([contactpoint] timezone or --timezone, default
 * Europe/Amsterdam), and an age in words ("3 min ago").  Machine output
 * keeps the RFC 3339 UTC times it was given.
 */
#ifndef ALERTCTL_CARDTIME_H
#define ALERTCTL_CARDTIME_H

#include <stddef.h>

#define CARDTIME_ZONE_DEFAULT "Europe/Amsterdam"
#define CARDTIME_LEN 64

/* Sets the zone local times are shown in (TZ); 0, or -1 when zone is
 * not a name of the tz database (nor a path). */
int cardtime_zone(const char *zone);
/* "29-11-2026 23:47:05 CET"; the input, cleaned, when it is not
 * RFC 3339. */
void cardtime_local(const char *rfc3339, char out[CARDTIME_LEN]);
/* "45 s", "12 min", "3 h 5 min", "2 d"; seconds, not negative. */
void cardtime_age(long secs, char out[CARDTIME_LEN]);
/* Seconds from an RFC 3339 time to now (0 when in the future or
 * unreadable: then *ok is 0). */
long cardtime_since(const char *rfc3339, int *ok);

#endif
