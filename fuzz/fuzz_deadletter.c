/*
 * libFuzzer target: what the admin listener parses of a dead-letter
 * request (daemon/deadletter_parse.c), without a relay.  The input is
 * the query string of GET /deadletter, '\n', then the POSTed body of
 * /deadletter/replay.  What the parsers claim is checked too: a limit in
 * range, ids that are stream entry ids.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deadletter_parse.h"

static void
check_args(json_t *args)
{
	json_t *ids = json_object_get(args, "ids"), *v;
	size_t i;

	if (json_is_true(json_object_get(args, "all")))
		return;
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > DEADLETTER_IDS_MAX)
		abort();
	json_array_foreach(ids, i, v)
	{
		if (!json_is_string(v) ||
		    !deadletter_id_valid(json_string_value(v)))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size), *why = NULL;
	size_t qlen = nl ? (size_t)(nl - (const char *)data) : size;
	char *query = malloc(qlen + 1);
	json_t *args;
	long limit;

	memcpy(query, data, qlen);
	query[qlen] = '\0';
	limit = deadletter_parse_limit(query);
	if (limit != -1 && (limit < 1 || limit > DEADLETTER_LIMIT_MAX))
		abort();
	free(query);
	if (nl != NULL) {
		args = deadletter_parse_replay(nl + 1, size - qlen - 1, &why);
		if (args == NULL && why == NULL)
			abort();
		if (args != NULL)
			check_args(args);
		json_decref(args);
	}
	return 0;
}
