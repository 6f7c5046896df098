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
#include "console_hold.h"
#include "console_ops.h"
#include "console_req.h"
#include "console_work.h"
#include "log.h"
#include "util.h"

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
		console_http_error(req, 404, "no such alert");
		return;
	}
	json_object_set_new(o, "timeline", console_work_timeline(c, alert_id));
	console_http_json(req, 200, "OK", o);
}

/* A rule of console_hold.h said no: the error the page translates. */
static void
console_ops_refused(struct evhttp_request *req, enum console_hold r,
    const char *alert_id, const char *owner)
{
	switch (r) {
	case CONSOLE_HOLD_CLOSED:
		console_http_error(req, 409, "closed");
		break;
	case CONSOLE_HOLD_HELD:
		console_http_json(req, 409, "Conflict",
		    json_pack("{s:s, s:s}", "error", "claimed", "owner",
		        owner));
		break;
	case CONSOLE_HOLD_YOURS:
		console_http_error(req, 409, "yours");
		break;
	case CONSOLE_HOLD_NOT_HOLDER:
		console_http_json(req, 403, "Forbidden",
		    json_pack("{s:s, s:o}", "error", "not_holder", "owner",
		        owner[0] != '\0' ? json_string(owner) : json_null()));
		break;
	case CONSOLE_HOLD_SUPERVISOR:
		console_http_error(req, 403, "supervisor");
		break;
	default:
		log_warnx("alert=%s: the database failed: 500", alert_id);
		console_http_error(req, 500, "db");
	}
}

static void
console_ops_claim(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	char ln[CONSOLE_LOG_NAME];
	char owner[CONSOLE_NAME_MAX + 1];
	enum console_hold r = console_hold_claim(c, alert_id, &s->u, owner);

	if (r != CONSOLE_HOLD_OK) {
		console_ops_refused(req, r, alert_id, owner);
		return;
	}
	log_info("claimed alert=%s operator=\"%s\"", alert_id,
	    console_log_name(s->u.name, ln));
	console_ops_changed(c, alert_id);
	console_http_json(req, 200, "OK", json_pack("{s:s}", "owner", owner));
}

/* Release (fn console_hold_release) or take-over (console_hold_takeover,
 * a supervisor takes an alert from whoever holds it: someone gone home
 * with it, an operator stuck on another call); the answer says who
 * holds it now and from whom it went, as the timeline does. */
static void
console_ops_hold(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s,
    enum console_hold (*fn)(struct console *, const char *,
        const struct console_user *, char *))
{
	char ln[CONSOLE_LOG_NAME];
	char lf[CONSOLE_LOG_NAME];
	char from[CONSOLE_NAME_MAX + 1];
	enum console_hold r = fn(c, alert_id, &s->u, from);
	int taken = fn == console_hold_takeover;

	if (r != CONSOLE_HOLD_OK) {
		console_ops_refused(req, r, alert_id, from);
		return;
	}
	log_info("%s alert=%s operator=\"%s\" from=\"%s\"",
	    taken ? "taken over" : "released", alert_id,
	    console_log_name(s->u.name, ln), console_log_name(from, lf));
	console_ops_changed(c, alert_id);
	console_http_json(req, 200, "OK",
	    json_pack("{s:o, s:o}", "owner",
	        taken ? json_string(s->u.name) : json_null(), "from",
	        from[0] != '\0' ? json_string(from) : json_null()));
}

/* The JSON body of a POST, or NULL. */
static json_t *
console_ops_body(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	return json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), JSON_REJECT_DUPLICATES, NULL);
}

static void
console_ops_note(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	json_t *o = console_ops_body(req);
	const char *text = console_req_text(o, "text", 1);
	enum console_hold r;

	if (text == NULL)
		console_http_error(req, 400, "text");
	else if ((r = console_hold_note(c, alert_id, &s->u, text)) !=
	    CONSOLE_HOLD_OK)
		console_ops_refused(req, r, alert_id, "");
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

/* Only the holder or a supervisor closes, and only once: a second
 * closure would put two outcomes on the record. */
static void
console_ops_close(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	char ln[CONSOLE_LOG_NAME];
	json_t *o = console_ops_body(req);
	const char *outcome = json_string_value(json_object_get(o, "outcome"));
	const char *note = console_req_text(o, "note", 0);
	char detail[CONSOLE_NOTE_MAX + 32], owner[CONSOLE_NAME_MAX + 1];
	enum console_hold r;

	if (!console_ops_outcome_ok(outcome) || note == NULL) {
		console_http_error(req, 400, "outcome, note");
		json_decref(o);
		return;
	}
	snprintf(detail, sizeof(detail), "%s%s%s", outcome,
	    note[0] != '\0' ? ": " : "", note);
	if ((r = console_hold_close(c, alert_id, &s->u, detail, owner)) !=
	    CONSOLE_HOLD_OK)
		console_ops_refused(req, r, alert_id, owner);
	else {
		log_info("closed alert=%s operator=\"%s\" outcome=%s", alert_id,
		    console_log_name(s->u.name, ln), outcome);
		console_ops_changed(c, alert_id);
		console_http_json(req, 200, "OK",
		    json_pack("{s:s}", "outcome", outcome));
	}
	json_decref(o);
}

/* Acknowledging takes the alert too, unless someone else holds it (a
 * supervisor takes it over first) or it is closed. */
static void
console_ops_ack(struct console *c, struct evhttp_request *req,
    const char *alert_id, const struct console_session *s)
{
	char owner[CONSOLE_NAME_MAX + 1];
	enum console_hold r = console_hold_claim(c, alert_id, &s->u, owner);

	if (r != CONSOLE_HOLD_OK)
		console_ops_refused(req, r, alert_id, owner);
	else {
		console_ops_changed(c, alert_id);
		console_ack_send(c, req, alert_id, s->u.name);
	}
}

void
console_ops_request(struct console *c, struct evhttp_request *req,
    const char *path, int post, const struct console_session *s)
{
	const char *action = NULL;
	char alert_id[33];
	int rc = console_req_alert_path(path, alert_id, &action);

	if (rc == -1) {
		console_http_error(req, 404, "no such alert");
		return;
	}
	if (rc != 0 || (action == NULL) == post) {
		console_http_error(req, action == NULL ? 405 : 404,
		    "no such thing");
		return;
	}
	if (action == NULL)
		console_ops_show(c, req, alert_id);
	else if (!console_work_known(c, alert_id))
		console_http_error(req, 404, "no such alert");
	else if (strcmp(action, "/claim") == 0)
		console_ops_claim(c, req, alert_id, s);
	else if (strcmp(action, "/release") == 0)
		console_ops_hold(c, req, alert_id, s, console_hold_release);
	else if (strcmp(action, "/takeover") == 0)
		console_ops_hold(c, req, alert_id, s, console_hold_takeover);
	else if (strcmp(action, "/ack") == 0)
		console_ops_ack(c, req, alert_id, s);
	else if (strcmp(action, "/note") == 0)
		console_ops_note(c, req, alert_id, s);
	else if (strcmp(action, "/close") == 0)
		console_ops_close(c, req, alert_id, s);
	else
		console_http_error(req, 404, "no such action");
}
