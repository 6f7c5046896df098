/*
 * The operators' actions on one alert (console_ops.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <sodium.h>

#include "console.h"
#include "console_ack.h"
#include "console_auth.h"
#include "console_events.h"
#include "console_ops.h"
#include "console_work.h"
#include "log.h"
#include "util.h"

static void
console_ops_error(struct evhttp_request *req, int status, const char *why,
    const char *error)
{
	console_http_json(req, status, why, json_pack("{s:s}", "error", error));
}

static void
console_ops_changed(struct console *c, const char *alert_id)
{
	if (c->events != NULL)
		console_events_alert(c->events, alert_id);
}

/* The alert and its timeline; the decrypted text wiped once sent. */
static void
console_ops_show(struct console *c, struct evhttp_request *req,
    const char *alert_id)
{
	json_t *o = console_api_alert(c, alert_id);

	if (o == NULL) {
		console_ops_error(req, 404, "Not Found", "no such alert");
		return;
	}
	json_object_set_new(o, "timeline", console_work_timeline(c, alert_id));
	console_http_json(req, 200, "OK", o);
}

static void
console_ops_claim(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	char owner[CONSOLE_NAME_MAX + 1];

	switch (console_work_claim(c, alert_id, s->u.name, owner)) {
	case CONSOLE_CLAIM_WON:
		log_info("claimed alert=%s operator=\"%s\"", alert_id,
		    s->u.name);
		console_ops_changed(c, alert_id);
		console_http_json(req, 200, "OK",
		    json_pack("{s:s}", "owner", owner));
		break;
	case CONSOLE_CLAIM_TAKEN:
		console_http_json(req, 409, "Conflict",
		    json_pack("{s:s, s:s}", "error", "claimed", "owner",
		        owner));
		break;
	case CONSOLE_CLAIM_UNKNOWN:
		console_ops_error(req, 404, "Not Found", "no such alert");
		break;
	case CONSOLE_CLAIM_CLOSED:
		console_ops_error(req, 409, "Conflict", "closed");
		break;
	default:
		console_ops_error(req, 500, "Internal Server Error", "db");
	}
}

static void
console_ops_release(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	int rc = console_work_release(c, alert_id, &s->u);

	if (rc == 1)
		console_ops_error(req, 409, "Conflict", "not yours");
	else if (rc != 0)
		console_ops_error(req, 500, "Internal Server Error", "db");
	else {
		log_info("released alert=%s operator=\"%s\"", alert_id,
		    s->u.name);
		console_ops_changed(c, alert_id);
		console_http_json(req, 200, "OK", json_pack("{s:n}", "owner"));
	}
}

/* The JSON body of a POST, or NULL. */
static json_t *
console_ops_body(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	return json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), JSON_REJECT_DUPLICATES, NULL);
}

/* Text a person typed: any UTF-8 (jansson checked it), bounded. */
static const char *
console_ops_text(json_t *o, const char *key, int required)
{
	const char *t = json_string_value(json_object_get(o, key));

	if (t == NULL)
		return required ? NULL : "";
	if (strlen(t) > CONSOLE_NOTE_MAX || (required && t[0] == '\0') ||
	    strlen(t) != json_string_length(json_object_get(o, key)))
		return NULL;
	return t;
}

static void
console_ops_note(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	json_t *o = console_ops_body(req);
	const char *text = console_ops_text(o, "text", 1);

	if (text == NULL)
		console_ops_error(req, 400, "Bad Request", "text");
	else if (console_work_note_action(c, alert_id, "note", s->u.name,
	             text) != 0)
		console_ops_error(req, 500, "Internal Server Error", "db");
	else {
		console_ops_changed(c, alert_id);
		console_http_json(req, 200, "OK", json_pack("{s:b}", "ok", 1));
	}
	json_decref(o);
}

static int
console_ops_outcome_ok(const char *outcome)
{
	size_t i;

	for (i = 0; outcome != NULL && console_work_outcomes[i] != NULL; i++)
		if (strcmp(outcome, console_work_outcomes[i]) == 0)
			return 1;
	return 0;
}

static void
console_ops_close(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	json_t *o = console_ops_body(req);
	const char *outcome = json_string_value(json_object_get(o, "outcome"));
	const char *note = console_ops_text(o, "note", 0);

	if (!console_ops_outcome_ok(outcome) || note == NULL)
		console_ops_error(req, 400, "Bad Request", "outcome, note");
	else if (console_work_close(c, alert_id, s->u.name, outcome, note) != 0)
		console_ops_error(req, 500, "Internal Server Error", "db");
	else {
		log_info("closed alert=%s operator=\"%s\" outcome=%s", alert_id,
		    s->u.name, outcome);
		console_ops_changed(c, alert_id);
		console_http_json(req, 200, "OK",
		    json_pack("{s:s}", "outcome", outcome));
	}
	json_decref(o);
}

/* Acknowledging takes the alert too, unless someone else holds it. */
static void
console_ops_ack(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	char owner[CONSOLE_NAME_MAX + 1];
	enum console_claim r =
	    console_work_claim(c, alert_id, s->u.name, owner);

	if (r == CONSOLE_CLAIM_TAKEN)
		console_http_json(req, 409, "Conflict",
		    json_pack("{s:s, s:s}", "error", "claimed", "owner",
		        owner));
	else if (r != CONSOLE_CLAIM_WON)
		console_ops_error(req, r == CONSOLE_CLAIM_CLOSED ? 409 : 404,
		    r == CONSOLE_CLAIM_CLOSED ? "Conflict" : "Not Found",
		    r == CONSOLE_CLAIM_CLOSED ? "closed" : "no such alert");
	else {
		console_ops_changed(c, alert_id);
		console_ack_send(c, req, alert_id, s->u.name);
	}
}

void
console_ops_request(struct console *c, struct evhttp_request *req,
    const char *path, int post, const struct console_session *s)
{
	const char *p = path + strlen("/api/alert/");
	const char *action = strchr(p, '/');
	char alert_id[33];

	if ((action != NULL ? (size_t)(action - p) : strlen(p)) != 32) {
		console_ops_error(req, 404, "Not Found", "no such alert");
		return;
	}
	memcpy(alert_id, p, 32);
	alert_id[32] = '\0';
	if (!alert_id_valid(alert_id) || (action == NULL) == post) {
		console_ops_error(req, action == NULL ? 405 : 404,
		    action == NULL ? "Method Not Allowed" : "Not Found",
		    "no such thing");
		return;
	}
	if (action == NULL)
		console_ops_show(c, req, alert_id);
	else if (!console_work_known(c, alert_id))
		console_ops_error(req, 404, "Not Found", "no such alert");
	else if (strcmp(action, "/claim") == 0)
		console_ops_claim(c, req, alert_id, s);
	else if (strcmp(action, "/release") == 0)
		console_ops_release(c, req, alert_id, s);
	else if (strcmp(action, "/ack") == 0)
		console_ops_ack(c, req, alert_id, s);
	else if (strcmp(action, "/note") == 0)
		console_ops_note(c, req, alert_id, s);
	else if (strcmp(action, "/close") == 0)
		console_ops_close(c, req, alert_id, s);
	else
		console_ops_error(req, 404, "Not Found", "no such action");
}
