/* What the page listener's API reads of a request (console_req.h). */
#include <sys/queue.h>

#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "console_req.h"
#include "console_users.h"
#include "console_work.h"
#include "util.h"

int
console_req_origin_ok(int tls, const char *host, const char *origin,
    const char *site)
{
	char want[300];

	snprintf(want, sizeof(want), "%s://%s", tls ? "https" : "http",
	    host ? host : "");
	if (origin != NULL && (host == NULL || strcmp(origin, want) != 0))
		return 0;
	return site == NULL || strcmp(site, "same-origin") == 0 ||
	    strcmp(site, "none") == 0;
}

int
console_req_login(const char *body, size_t len, json_t **o, const char **name,
    const char **password)
{
	*o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	*name = json_string_value(json_object_get(*o, "name"));
	*password = json_string_value(json_object_get(*o, "password"));
	if (*name == NULL || *password == NULL ||
	    strlen(*password) > CONSOLE_PASS_MAX ||
	    !console_users_name_ok(*name))
		return -1;
	return 0;
}

int
console_req_lang(const char *body, size_t len, char out[3])
{
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *lang = json_string_value(json_object_get(o, "lang"));
	int rc = -1;

	if (lang != NULL &&
	    (strcmp(lang, "nl") == 0 || strcmp(lang, "en") == 0 ||
	        lang[0] == '\0')) {
		snprintf(out, 3, "%s", lang);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* jansson checked the UTF-8; a NUL inside would cut the text short. */
const char *
console_req_text(const json_t *o, const char *key, int required)
{
	const char *t = json_string_value(json_object_get(o, key));

	if (t == NULL)
		return required ? NULL : "";
	if (strlen(t) > CONSOLE_NOTE_MAX || (required && t[0] == '\0') ||
	    strlen(t) != json_string_length(json_object_get(o, key)))
		return NULL;
	return t;
}

int
console_req_alert_path(const char *path, char alert_id[33], const char **action)
{
	const char *p = path + strlen("/api/alert/");

	if (strncmp(path, "/api/alert/", strlen("/api/alert/")) != 0)
		return -1;
	*action = strchr(p, '/');
	if ((*action != NULL ? (size_t)(*action - p) : strlen(p)) != 32)
		return -1;
	memcpy(alert_id, p, 32);
	alert_id[32] = '\0';
	return alert_id_valid(alert_id) ? 0 : -2;
}

/* A bound of the period: unix seconds, up to 2^40. */
static int
console_req_when(const char *s, long long *out)
{
	long v;

	if (s == NULL || parse_long(s, 0, 1L << 40, &v) != 0)
		return -1;
	*out = v;
	return 0;
}

/* What was asked, once the query has been split. */
static int
console_req_export_fields(struct evkeyvalq *q, struct console_export_args *a)
{
	const char *alert = evhttp_find_header(q, "alert");
	const char *format = evhttp_find_header(q, "format");

	a->csv = format != NULL && strcmp(format, "csv") == 0;
	if (alert != NULL) {
		if (!alert_id_valid(alert))
			return -2;
		snprintf(a->alert, sizeof(a->alert), "%s", alert);
		return 0;
	}
	if (console_req_when(evhttp_find_header(q, "from"), &a->from) != 0 ||
	    console_req_when(evhttp_find_header(q, "to"), &a->to) != 0)
		return -1;
	return 0;
}

int
console_req_export(const char *query, struct console_export_args *a)
{
	struct evkeyvalq q;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == 0)
		rc = console_req_export_fields(&q, a);
	evhttp_clear_headers(&q);
	return rc;
}
