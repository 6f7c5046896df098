/*
 * The caller history (issue 12 item 6): GET /api/devices/<device
 * id>/alerts[?before=CURSOR][&limit=N], the device's alerts, newest
 * first, opened like /api/alerts, a page of at most
 * CONSOLE_DB_HISTORY_MAX at a time:
 *
 *	{"device_id":ID,"alerts":[ALERT...],"next":CURSOR|null,"now":T}
 *
 * next, when not null, is the before= of the following page.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "console.h"
#include "console_db.h"
#include "console_db_view.h"
#include "util.h"
#include "xmalloc.h"

#define CONSOLE_HISTORY_PREFIX "/api/devices/"
#define CONSOLE_HISTORY_SUFFIX "/alerts"
#define CONSOLE_HISTORY_DEFAULT 20

struct console_history {
	struct console *c;
	json_t *alerts;
	time_t now;
	long long last; /* row id of the last alert listed */
	int rows;
};

/* The device id from the path, into id; -1 when the path is not ours
 * or the id is not an id. */
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

/* before= and limit=; -1 when either is malformed or out of bounds. */
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
	    parse_long(v, 1, CONSOLE_DB_HISTORY_MAX, limit) != 0)
		rc = -1;
	evhttp_clear_headers(&q);
	return rc;
}

static void
console_history_row(void *arg, const struct console_db_alert *row, long long id)
{
	struct console_history *h = arg;
	json_t *o = console_api_alert(h->c, row, h->now);

	h->last = id;
	h->rows++;
	if (o != NULL)
		json_array_append_new(h->alerts, o);
}

char *
console_history_json(struct console *c, const char *path, const char *query,
    int *status)
{
	struct console_history h = {c, NULL, time(NULL), 0, 0};
	char id[ID_MAX + 1];
	long before, limit;
	json_t *o;
	char *text = NULL;

	*status = 404;
	if (console_history_device(path, id) != 0)
		return NULL;
	*status = 400;
	if (console_history_query(query, &before, &limit) != 0)
		return NULL;
	*status = 500;
	if ((h.alerts = json_array()) == NULL)
		return NULL;
	if (console_db_device_alerts(c->db, id, before, (int)limit,
	        console_history_row, &h) == 0) {
		/* a full page: there may be more before the last one */
		o = json_pack("{s:s, s:O, s:o, s:I}", "device_id", id, "alerts",
		    h.alerts, "next",
		    h.rows == limit ? json_integer(h.last) : json_null(), "now",
		    (json_int_t)h.now);
		if (o != NULL)
			text = json_dumps(o,
			    JSON_COMPACT | JSON_REAL_PRECISION(15));
		json_decref(o);
	}
	json_decref(h.alerts);
	if (text != NULL)
		*status = 200;
	return text;
}
