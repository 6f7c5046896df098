/*
 * send --wait's argument (watch.h).
 */
#include <string.h>

#include "watch.h"

int
watch_until_parse(const char *s, enum watch_until *out)
{
	if (strcmp(s, "none") == 0)
		*out = WATCH_NONE;
	else if (strcmp(s, "delivered") == 0)
		*out = WATCH_DELIVERED;
	else if (strcmp(s, "ack") == 0)
		*out = WATCH_ACK;
	else
		return -1;
	return 0;
}

const char *
watch_until_name(enum watch_until until)
{
	return until == WATCH_DELIVERED ? "delivered" : "acknowledged";
}
