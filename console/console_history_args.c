/*
 * The caller history's request, read (console_history_args.h).
 */
#include <sys/queue.h>

#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "console_history_args.h"

#define CONSOLE_HISTORY_PREFIX "/api/devices/"
#define CONSOLE_HISTORY_SUFFIX "/alerts"

static int
console_history_device(const char *path, char id[ID_MAX + 1])
{
	size_t pre = strlen(CONSOLE_HISTORY_PREFIX),
	       suf = strlen(CONSOLE_HISTORY_SUFFIX), n = strlen(path);

	if (n <= pre + suf || strncmp(path, CONSOLE_HISTORY_PREFIX, pre) != 0 ||
	    strcmp(path + n - suf, CONSOLE_HISTORY_SUFFIX) != 0 ||
	    n - pre - suf > ID_MAX)
		return -1;
	memcpy(id, path + pre, n - pre - suf);
	id[n - pre - suf] = '\0';
	return id_valid(id) ? 0 : -1;
}

static int
console_history_query(const char *query, long *before, long *limit)
{
	struct evkeyvalq q;
	const char *v;
	int rc = 0;

	*before = 0;
	*limit = CONSOLE_HISTORY_DEFAULT;
	if (query == NULL)
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) != 0)
		return -1;
	if ((v = evhttp_find_header(&q, "before")) != NULL &&
	    parse_long(v, 1, 0x7fffffffffffffffL, before) != 0)
		rc = -1;
	if ((v = evhttp_find_header(&q, "limit")) != NULL &&
	    parse_long(v, 1, CONSOLE_HISTORY_LIMIT, limit) != 0)
		rc = -1;
	evhttp_clear_headers(&q);
	return rc;
}

enum console_history_parse
console_history_args(const char *path, const char *query, char id[ID_MAX + 1],
    long *before, long *limit)
{
	if (console_history_device(path, id) != 0)
		return CONSOLE_HISTORY_NOT_OURS;
	if (console_history_query(query, before, limit) != 0)
		return CONSOLE_HISTORY_BAD_QUERY;
	return CONSOLE_HISTORY_OK;
}
