/*
 * The operators' logins and sessions over HTTP: POST /api/login and
 * /api/logout, the session cookie (HttpOnly, SameSite=Strict, Secure
 * under TLS), the same-origin and CSRF checks every state-changing
 * request passes, and the limit of failed logins per address.
 */
#ifndef ALERTCONSOLE_CONSOLE_AUTH_H
#define ALERTCONSOLE_CONSOLE_AUTH_H

#include "console_users.h"

#define CONSOLE_AUTH_COOKIE "alertconsole_session"

struct console;
struct event_base;
struct evhttp_request;

struct console_session {
	struct console_user u;
	char csrf[CONSOLE_TOKEN_HEX + 1];
};

/* Starts the password checks' worker thread (console_pwcheck.h);
 * failed logins are counted per source over lockout_s seconds. */
struct console_auth *console_auth_new(struct event_base *base, long lockout_s);
void console_auth_free(struct console_auth *a);

/* The request's session: 0 when logged in (s filled).  touch: the
 * request counts as use (not the event stream, which a page holds open
 * by itself). */
int console_auth_session(struct console *c, struct evhttp_request *req,
    int touch, struct console_session *s);

/* The session cookie's value in req (the session id: a secret, never
 * logged), into out; 0 when there is one. */
int console_auth_cookie_id(struct evhttp_request *req, char *out,
    size_t outlen);
/* 0 while the session of id lives; does not count as use.  The event
 * streams ask at each heartbeat whether their session still does. */
int console_auth_alive(struct console *c, const char *id);

/* A request that changes something: from this console's own page
 * (Origin, Sec-Fetch-Site) and with the session's X-CSRF-Token.  0 when
 * so; otherwise it was answered 403. */
int console_auth_origin(struct console *c, struct evhttp_request *req);
int console_auth_post_ok(struct console *c, struct evhttp_request *req,
    const struct console_session *s);

void console_auth_login(struct console *c, struct evhttp_request *req);
void console_auth_logout(struct console *c, struct evhttp_request *req,
    const struct console_session *s);
/* GET /api/session: who, role, language, CSRF token, alarm interval,
 * and the event stream's heartbeat interval (the page's watchdog). */
void console_auth_whoami(struct console *c, struct evhttp_request *req,
    const struct console_session *s);
/* POST /api/lang {"lang":"nl"|"en"|""}: the operator's choice, kept. */
void console_auth_lang(struct console *c, struct evhttp_request *req,
    const struct console_session *s);

#endif
