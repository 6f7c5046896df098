/*
 * The operators' API (after login; console_route.c checks the session
 * and, for POST, the origin and CSRF token):
 *
 *	GET  /api/alert/ID            the alert, opened, and its timeline
 *	POST /api/alert/ID/claim      first claim wins; else 409 + owner
 *	POST /api/alert/ID/release    the holder or a supervisor
 *	POST /api/alert/ID/takeover   a supervisor: the claim becomes theirs
 *	POST /api/alert/ID/ack        the relay's ack endpoint (console_ack.c)
 *	POST /api/alert/ID/note       {"text"}
 *	POST /api/alert/ID/close      {"outcome","note"}: the holder or a
 *	                              supervisor, once
 *
 * The rules are console_hold.h's; a refusal is {"error":E[,"owner"]}:
 * 409 "closed", 409 "claimed" (+owner), 403 "not_holder" (+owner or
 * null), 403 "supervisor".
 *
 * Every change is a timeline row with the operator's name, and an
 * "alerts" event to every open page.
 */
#ifndef ALERTCONSOLE_CONSOLE_OPS_H
#define ALERTCONSOLE_CONSOLE_OPS_H

struct console;
struct console_session;
struct evhttp_request;

/* path is "/api/alert/..."; post: a POST (checked already). */
void console_ops_request(struct console *c, struct evhttp_request *req,
    const char *path, int post, const struct console_session *s);

#endif
