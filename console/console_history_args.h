/*
 * What GET /api/devices/<device id>/alerts?before=N&limit=N asks for:
 * the request path and query string read into a device id and bounds,
 * as a pure function (the fuzzer's entry point, fuzz/fuzz_history.c).
 */
#ifndef ALERTCONSOLE_CONSOLE_HISTORY_ARGS_H
#define ALERTCONSOLE_CONSOLE_HISTORY_ARGS_H

#include "util.h"

#define CONSOLE_HISTORY_DEFAULT 20 /* alerts per page without limit= */
#define CONSOLE_HISTORY_LIMIT 100 /* the most limit= may ask */

enum console_history_parse {
	CONSOLE_HISTORY_OK = 0,
	CONSOLE_HISTORY_NOT_OURS = -1, /* not the path, or no device id */
	CONSOLE_HISTORY_BAD_QUERY = -2 /* before= or limit= malformed */
};

/* id gets the device id (valid by id_valid), before 0 or the cursor,
 * limit 1..CONSOLE_HISTORY_LIMIT; query may be NULL. */
enum console_history_parse console_history_args(const char *path,
    const char *query, char id[ID_MAX + 1], long *before, long *limit);

#endif
