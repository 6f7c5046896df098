/*
 * The page listener's API routes (console_route.h).
 *
 *	POST /api/login               same origin; no session yet
 *	GET  /api/session             who is logged in, and the CSRF token
 *	GET  /api/alerts, /api/events the queue and its live updates
 *	GET  /api/alert/ID, POST /api/alert/ID/ACTION   console_ops.c
 *	GET  /api/export              console_export.c
 *	GET  /api/map                 the map's configuration
 *	GET  /api/devices/ID/alerts   the caller history (console_history.c)
 *	POST /api/logout, /api/lang
 *
 * Any other request under /api/ without a live session gets 401; a POST
 * without the session's CSRF token, or from another origin, 403.
 */
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <sodium.h>

#include "console.h"
#include "console_auth.h"
#include "console_events.h"
#include "console_export.h"
#include "console_map.h"
#include "console_ops.h"
#include "console_route.h"
#include "log.h"

static void
console_route_history(struct console *c, struct evhttp_request *req,
    const char *path)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	int status = 500;
	char *text = console_history_json(c, path,
	    uri != NULL ? evhttp_uri_get_query(uri) : NULL, &status);

	if (text == NULL && status == 404)
		console_http_error(req, 404, "not found");
	else if (text == NULL && status == 400)
		console_http_error(req, 400, "bad request");
	else
		console_http_json_text(req, text, status);
}

/* The stream, tied to the session whose cookie opened it. */
static void
console_route_events(struct console *c, struct evhttp_request *req)
{
	char sid[CONSOLE_TOKEN_HEX + 8];

	if (console_auth_cookie_id(req, sid, sizeof(sid)) != 0) {
		console_http_error(req, 401, "login");
		return;
	}
	console_http_headers(req, "text/event-stream");
	console_events_open(c->events, req, sid);
	sodium_memzero(sid, sizeof(sid));
}

static void
console_route_get(struct console *c, struct evhttp_request *req,
    const char *path, const struct console_session *s)
{
	if (strcmp(path, "/api/session") == 0)
		console_auth_whoami(c, req, s);
	else if (strcmp(path, "/api/alerts") == 0)
		console_http_alerts(c, req);
	else if (strcmp(path, "/api/events") == 0)
		console_route_events(c, req);
	else if (strncmp(path, "/api/alert/", 11) == 0)
		console_ops_request(c, req, path, 0, s);
	else if (strcmp(path, "/api/export") == 0)
		console_export_request(c, req, s);
	else if (strcmp(path, "/api/map") == 0)
		console_http_json_text(req, console_map_json(), 200);
	else if (strncmp(path, "/api/devices/", 13) == 0)
		console_route_history(c, req, path);
	else
		console_http_error(req, 404, "not found");
}

static void
console_route_post(struct console *c, struct evhttp_request *req,
    const char *path, const struct console_session *s)
{
	if (console_auth_post_ok(c, req, s) != 0)
		return;
	if (strcmp(path, "/api/logout") == 0)
		console_auth_logout(c, req, s);
	else if (strcmp(path, "/api/lang") == 0)
		console_auth_lang(c, req, s);
	else if (strncmp(path, "/api/alert/", 11) == 0)
		console_ops_request(c, req, path, 1, s);
	else
		console_http_error(req, 404, "not found");
}

void
console_route_api(struct console *c, struct evhttp_request *req,
    const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct console_session s;
	int post = cmd == EVHTTP_REQ_POST;

	if (!post && cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		console_http_error(req, 405, "method");
		return;
	}
	if (post && strcmp(path, "/api/login") == 0) {
		console_auth_login(c, req);
		return;
	}
	/* The event stream is held open by the page itself: it does not
	 * count as the operator's use. */
	if (console_auth_session(c, req, strcmp(path, "/api/events") != 0,
	        &s) != 0) {
		console_http_error(req, 401, "login");
		return;
	}
	if (post)
		console_route_post(c, req, path, &s);
	else
		console_route_get(c, req, path, &s);
}
