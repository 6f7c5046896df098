/*
 * libFuzzer target: what alertconsole reads of a caller-history request
 * (console/console_history_args.c), without a console.  The input is
 * the request path, '\n', then the query string.  What the parser
 * claims is checked too: a valid id, bounds in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console_history_args.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - (const char *)data) : size;
	char *path = strndup((const char *)data, plen);
	char *query = nl ? strndup(nl + 1, size - plen - 1) : NULL;
	char id[ID_MAX + 1];
	long before = -1, limit = -1;

	if (path != NULL &&
	    console_history_args(path, query, id, &before, &limit) ==
	        CONSOLE_HISTORY_OK) {
		if (!id_valid(id) || before < 0 || limit < 1 ||
		    limit > CONSOLE_HISTORY_LIMIT)
			abort();
	}
	free(path);
	free(query);
	return 0;
}
