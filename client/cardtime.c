/* Ages for people (cardtime.h). */
#include <stdio.h>
#include <time.h>

#include "cardtime.h"
#include "i18n.h"
#include "util.h"

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
