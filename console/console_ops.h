/*
 * The operators' API (after login; console_route.c checks the session
 * and, for POST, the origin and CSRF token):
 *
 *	GET  /api/alert/ID            the alert, opened, and its timeline
 *	POST /api/alert/ID/claim      first claim wins; else 409 + owner
 *	POST /api/alert/ID/release
 *	POST /api/alert/ID/ack        the relay's ack endpoint (console_ack.c)
 *	POST /api/alert/ID/note       {"text"}
 *	POST /api/alert/ID/close      {"outcome","note"}
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
