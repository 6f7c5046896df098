/* What the admin listener parses of a dead-letter request (see
 * deadletter_parse.h). */
#include <sys/queue.h>

#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "deadletter_parse.h"
#include "util.h"

long
deadletter_parse_limit(const char *query)
{
	struct evkeyvalq q;
	const char *v;
	long limit = DEADLETTER_LIMIT_DEFAULT;

	if (query == NULL)
		return limit;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) != 0) {
		evhttp_clear_headers(&q);
		return -1;
	}
	v = evhttp_find_header(&q, "limit");
	if (v != NULL && parse_long(v, 1, DEADLETTER_LIMIT_MAX, &limit) != 0)
		limit = -1;
	evhttp_clear_headers(&q);
	return limit;
}

int
deadletter_id_valid(const char *id)
{
	size_t a = strspn(id, "0123456789"), b;

	if (a == 0 || a > 20 || id[a] != '-')
		return 0;
	b = strspn(id + a + 1, "0123456789");
	return b > 0 && b <= 20 && id[a + 1 + b] == '\0';
}

static json_t *
deadletter_parse_ids(json_t *ids, const char **why)
{
	json_t *v, *out;
	size_t i;

	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > DEADLETTER_IDS_MAX) {
		*why = "give {\"ids\": [ID, ...]} (1..200) or {\"all\": true}";
		return NULL;
	}
	json_array_foreach(ids, i, v)
	{
		if (!json_is_string(v) ||
		    !deadletter_id_valid(json_string_value(v))) {
			*why = "an id is not a stream entry id (like "
			       "1700000000000-0)";
			return NULL;
		}
	}
	out = json_object();
	json_object_set(out, "ids", ids);
	return out;
}

json_t *
deadletter_parse_replay(const char *body, size_t len, const char **why)
{
	json_t *o, *out = NULL;
	char lim[24];

	*why = "the body is not a JSON object";
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o))
		;
	else if (json_is_true(json_object_get(o, "all"))) {
		snprintf(lim, sizeof(lim), "%d", DEADLETTER_IDS_MAX);
		out = json_pack("{s:b, s:s}", "all", 1, "limit", lim);
	} else
		out = deadletter_parse_ids(json_object_get(o, "ids"), why);
	json_decref(o);
	return out;
}
