/*
 * Reading a relay's 409 to an acknowledgement (ack_conflict.h).
 */
#include <string.h>

#include <jansson.h>

#include "ack_conflict.h"

int
ack_conflict_cancelled(const char *body, size_t len)
{
	json_t *o = json_loadb(body, len, 0, NULL);
	const char *code = json_string_value(json_object_get(o, "code"));
	const char *error = json_string_value(json_object_get(o, "error"));
	int cancelled;

	/* the code when there is one: a relay that has it says every
	 * conflict by it, whatever its text */
	if (code != NULL)
		cancelled = strcmp(code, "cancelled") == 0;
	else
		cancelled =
		    error != NULL && strcmp(error, "alert was cancelled") == 0;
	json_decref(o);
	return cancelled;
}
