/*
 * What the page listener's API reads of a request, as pure functions
 * (fuzzed by fuzz/fuzz_console_request.c): the Origin check, the bodies
 * of POST /api/login, /api/lang, /api/alert/ID/note and .../close, the
 * path /api/alert/ID[/ACTION] and the query of GET /api/export.  The
 * login's is read before anyone has logged in.
 */
#ifndef ALERTCONSOLE_REQ_H
#define ALERTCONSOLE_REQ_H

#include <stddef.h>

#include <jansson.h>

/* Origin must be scheme://Host and Sec-Fetch-Site same-origin or none,
 * where sent (any may be NULL): 1 when so. */
int console_req_origin_ok(int tls, const char *host, const char *origin,
    const char *site);

/* {"name","password"}: 0 when both are there and fit, else -1.  *o is
 * what was parsed (NULL if nothing): the caller wipes *password when
 * not NULL, and then drops *o. */
int console_req_login(const char *body, size_t len, json_t **o,
    const char **name, const char **password);

/* {"lang": "nl" | "en" | ""} into out: 0, or -1. */
int console_req_lang(const char *body, size_t len, char out[3]);

/* The text of key in a note or closure body, any UTF-8 without NUL, at
 * most CONSOLE_NOTE_MAX bytes; "" when absent and not required; NULL
 * when refused. */
const char *console_req_text(const json_t *o, const char *key, int required);

/* path "/api/alert/ID[/ACTION]": the id into alert_id and *action to
 * "/ACTION" or NULL; 0, -1 when ID is not 32 characters long, -2 when
 * it is not an alert id. */
int console_req_alert_path(const char *path, char alert_id[33],
    const char **action);

/* GET /api/export?alert=ID or ?from=T&to=T, with format=csv or json. */
struct console_export_args {
	char alert[33]; /* one alert, or "": the period */
	long long from, to;
	int csv;
};

/* query (may be NULL) into *a: 0, -1 when neither an alert nor a
 * period is asked, -2 when the alert is not an alert id. */
int console_req_export(const char *query, struct console_export_args *a);

#endif
