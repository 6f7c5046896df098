/*
 * The caller history (issue 12 item 6): GET /api/devices/<device
 * id>/alerts[?before=CURSOR][&limit=N], the device's alerts, newest
 * first, opened like /api/alerts, a page of at most
 * CONSOLE_HISTORY_LIMIT at a time:
 *
 *	{"device_id":ID,"alerts":[ALERT...],"next":CURSOR|null,"now":T}
 *
 * next, when not null, is the before= of the following page.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "console_db.h"
#include "console_db_view.h"
#include "console_history_args.h"

struct console_history {
	struct console *c;
	json_t *alerts;
	time_t now;
	long long last; /* row id of the last alert listed */
	int rows;
};

static void
console_history_row(void *arg, const struct console_db_alert *row, long long id)
{
	struct console_history *h = arg;
	json_t *o = console_api_opened(h->c, row, h->now);

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

	switch (console_history_args(path, query, id, &before, &limit)) {
	case CONSOLE_HISTORY_NOT_OURS:
		*status = 404;
		return NULL;
	case CONSOLE_HISTORY_BAD_QUERY:
		*status = 400;
		return NULL;
	case CONSOLE_HISTORY_OK:
		break;
	}
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
