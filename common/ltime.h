/*
 * Times a person reads: local time with its zone ("29-11-2026 03:47:12
 * CET" in Dutch, "2026-11-29 03:47:12 CET" in English), in a zone the
 * configuration names ([client] timezone), not the machine's.  Machine
 * output (JSON, parsed lines) stays RFC 3339 UTC (util.h).
 */
#ifndef ALERTRELAY_LTIME_H
#define ALERTRELAY_LTIME_H

#include <stddef.h>
#include <time.h>

#define LTIME_DEFAULT_ZONE "Europe/Amsterdam"
#define LTIME_ZONE_MAX 64
#define LTIME_LEN 64

/* 0 when zone names a zone of the tz database (tzdata installed). */
int ltime_zone_valid(const char *zone);
/* The zone later times are shown in, on this thread; the default until
 * then. */
void ltime_set_zone(const char *zone);
const char *ltime_zone(void);
/* t as date and time with zone, in the reader's language; with_date 0:
 * only "03:47 CET".  Returns buf. */
char *ltime_format(time_t t, int with_date, char *buf, size_t len);

#endif
