/* Local times and ages for people (cardtime.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cardtime.h"
#include "i18n.h"
#include "out.h"
#include "util.h"

/* A zone name is looked up in the tz database; one that is not there
 * would silently give UTC, which a person would take for local time. */
int
cardtime_zone(const char *zone)
{
	char path[256];

	if (zone == NULL || *zone == '\0' || strstr(zone, "..") != NULL)
		return -1;
	if (zone[0] == '/')
		snprintf(path, sizeof(path), "%s", zone);
	else if (strcmp(zone, "UTC") == 0)
		path[0] = '\0';
	else
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	if (path[0] != '\0' && access(path, R_OK) != 0)
		return -1;
	setenv("TZ", zone, 1);
	tzset();
	return 0;
}

void
cardtime_local(const char *rfc3339, char out[CARDTIME_LEN])
{
	struct tm tm;
	time_t t;

	if (rfc3339 == NULL) {
		snprintf(out, CARDTIME_LEN, "?");
		return;
	}
	if (time_rfc3339_parse(rfc3339, &t) != 0 ||
	    localtime_r(&t, &tm) == NULL ||
	    strftime(out, CARDTIME_LEN, "%d-%m-%Y %H:%M:%S %Z", &tm) == 0)
		out_clean(rfc3339, out, CARDTIME_LEN);
}

void
cardtime_age(long secs, char out[CARDTIME_LEN])
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(out, CARDTIME_LEN, _("%ld s"), secs);
	else if (secs < 3600)
		snprintf(out, CARDTIME_LEN, _("%ld min"), secs / 60);
	else if (secs < 86400)
		snprintf(out, CARDTIME_LEN, _("%ld h %ld min"), secs / 3600,
		    secs % 3600 / 60);
	else
		snprintf(out, CARDTIME_LEN, _("%ld d %ld h"), secs / 86400,
		    secs % 86400 / 3600);
}

long
cardtime_since(const char *rfc3339, int *ok)
{
	time_t t, now = time(NULL);

	*ok = rfc3339 != NULL && time_rfc3339_parse(rfc3339, &t) == 0;
	if (!*ok || t > now)
		return 0;
	return (long)(now - t);
}
