/* What the admin listener parses of an audit or erasure request (see
 * lifecycle_parse.h). */
#include <sys/queue.h>

#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "lifecycle_parse.h"

int
lifecycle_stream_id_valid(const char *s)
{
	size_t i = 0, n = strlen(s);

	if (strcmp(s, "-") == 0 || strcmp(s, "+") == 0)
		return 1;
	if (n == 0 || n > 45)
		return 0;
	if (s[0] == '(')
		i++;
	if (s[i] < '0' || s[i] > '9')
		return 0;
	return strspn(s + i, "0123456789-") == n - i;
}

/* The fields of an audit request, once the query has been split. */
static int
lifecycle_audit_fields(const char *inst, const char *after, const char *count,
    struct lifecycle_audit_args *out)
{
	if (after == NULL)
		after = "-";
	out->count = AUDIT_PAGE_DEFAULT;
	if ((count != NULL &&
	        parse_long(count, 1, AUDIT_PAGE_MAX, &out->count) != 0) ||
	    !lifecycle_stream_id_valid(after) ||
	    strlen(inst) > AUDIT_INSTANCE_MAX || strchr(inst, ':') != NULL)
		return -1;
	snprintf(out->inst, sizeof(out->inst), "%s", inst);
	snprintf(out->after, sizeof(out->after), "%s", after);
	return 0;
}

int
lifecycle_parse_audit(const char *query, const char *inst,
    struct lifecycle_audit_args *out)
{
	struct evkeyvalq params;
	const char *i;
	int rc = -1;

	TAILQ_INIT(&params);
	if (query == NULL || evhttp_parse_query_str(query, &params) == 0) {
		i = evhttp_find_header(&params, "instance");
		rc = lifecycle_audit_fields(i != NULL ? i : inst,
		    evhttp_find_header(&params, "after"),
		    evhttp_find_header(&params, "count"), out);
	}
	evhttp_clear_headers(&params);
	return rc;
}

int
lifecycle_parse_forget(const char *body, size_t len, char dev[ID_MAX + 1],
    char by[ID_MAX + 1])
{
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *d = json_string_value(json_object_get(o, "device_id"));
	const char *b = json_string_value(json_object_get(o, "by"));
	int rc = -1;

	if (d != NULL && id_valid(d) && (b == NULL || id_valid(b))) {
		snprintf(dev, ID_MAX + 1, "%s", d);
		snprintf(by, ID_MAX + 1, "%s", b != NULL ? b : "unnamed");
		rc = 0;
	}
	json_decref(o);
	return rc;
}
