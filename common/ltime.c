/*
 * Local time in a named zone without moving the process into it: TZ is
 * set only while localtime_r() runs and put back at once, so log lines
 * (UTC), timegm() and anything else keep working as before.  The
 * programs using this format times on one thread; the zone is that
 * thread's, so that libalertclient's clients, each used from one thread
 * at a time, can each speak in their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "i18n.h"
#include "ltime.h"

#ifndef ZONEINFO_DIR
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#endif

static __thread char ltime_zone_name[LTIME_ZONE_MAX] = LTIME_DEFAULT_ZONE;

int
ltime_zone_valid(const char *zone)
{
	char path[sizeof(ZONEINFO_DIR) + LTIME_ZONE_MAX + 1];
	struct stat st;
	const char *c;

	if (zone == NULL || *zone == '\0' || strlen(zone) >= LTIME_ZONE_MAX ||
	    zone[0] == '/' || strstr(zone, "..") != NULL)
		return -1;
	for (c = zone; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		        (*c >= '0' && *c <= '9') || strchr("/_+-", *c) != NULL))
			return -1;
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, zone);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? 0 : -1;
}

void
ltime_set_zone(const char *zone)
{
	snprintf(ltime_zone_name, sizeof(ltime_zone_name), "%s", zone);
}

const char *
ltime_zone(void)
{
	return ltime_zone_name;
}

/* localtime_r() in the chosen zone, TZ put back afterwards. */
static int
ltime_local(time_t t, struct tm *tm)
{
	const char *old = getenv("TZ");
	char *saved = old != NULL ? strdup(old) : NULL;
	int rc;

	if (old != NULL && saved == NULL)
		return -1;
	setenv("TZ", ltime_zone_name, 1);
	tzset();
	rc = localtime_r(&t, tm) != NULL ? 0 : -1;
	if (saved != NULL) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
	return rc;
}

char *
ltime_format(time_t t, int with_date, char *buf, size_t len)
{
	/* TRANSLATORS: strftime(3) formats of a date and time a person
	 * reads; keep %Z (the zone). */
	const char *full = _("%Y-%m-%d %H:%M:%S %Z");
	const char *hm = _("%H:%M %Z");
	struct tm tm;

	if (len == 0)
		return buf;
	if (ltime_local(t, &tm) != 0 ||
	    strftime(buf, len, with_date ? full : hm, &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}
