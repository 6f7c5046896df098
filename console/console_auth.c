/*
 * Logins, sessions and the checks of state-changing requests
 * (console_auth.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "console.h"
#include "console_auth.h"
#include "console_cookie.h"
#include "console_db.h"
#include "console_device.h"
#include "console_events.h"
#include "console_loginlimit.h"
#include "console_pwcheck.h"
#include "console_req.h"
#include "console_users.h"
#include "console_work.h"
#include "log.h"
#include "xmalloc.h"

struct console_auth {
	struct console_loginlimit *failed; /* per source */
	struct console_pwcheck *pwcheck;
};

/* A login whose password is being checked off the loop. */
struct console_auth_pending {
	struct console *c;
	struct evhttp_request *req; /* NULL once the client went */
	char name[CONSOLE_NAME_MAX + 1];
	char peer[64];
	struct console_loginlimit_src source;
	struct console_device_token tok; /* the browser's device cookie */
	/* The hash the password is checked against: a new password (user
	 * passwd) committed during the check makes it count as wrong. */
	char checked[crypto_pwhash_STRBYTES];
};

struct console_auth *
console_auth_new(struct event_base *base, long lockout_s)
{
	struct console_auth *a = xcalloc(1, sizeof(struct console_auth));

	a->failed = console_loginlimit_new(lockout_s);

	if ((a->pwcheck = console_pwcheck_new(base)) == NULL)
		log_fatalx("cannot start the password checks");
	if (console_users_prepare() != 0)
		log_fatalx("cannot prepare the password checks");
	return a;
}

void
console_auth_free(struct console_auth *a)
{
	if (a == NULL)
		return;
	console_pwcheck_free(a->pwcheck);
	console_loginlimit_free(a->failed);
	free(a);
}

int
console_auth_cookie_id(struct evhttp_request *req, char *out, size_t outlen)
{
	return console_cookie_value(
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie"),
	    CONSOLE_AUTH_COOKIE, out, outlen);
}

int
console_auth_session(struct console *c, struct evhttp_request *req, int touch,
    struct console_session *s)
{
	char id[CONSOLE_TOKEN_HEX + 8];

	if (console_auth_cookie_id(req, id, sizeof(id)) != 0)
		return -1;
	return console_sessions_find(console_db_sqlite(c->db), id, time(NULL),
	    c->cfg.session_idle, touch, &s->u, s->csrf);
}

int
console_auth_alive(struct console *c, const char *id)
{
	struct console_user u;
	char csrf[CONSOLE_TOKEN_HEX + 1];
	int rc = console_sessions_find(console_db_sqlite(c->db), id, time(NULL),
	    c->cfg.session_idle, 0, &u, csrf);

	sodium_memzero(csrf, sizeof(csrf));
	return rc;
}

/* A browser names where a request comes from: Origin must be this
 * console (scheme://Host), Sec-Fetch-Site same-origin.  A client that
 * sends neither (not a browser) still needs the CSRF token. */
int
console_auth_origin(struct console *c, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);

	if (!console_req_origin_ok(c->cfg.tls_cert != NULL,
	        evhttp_find_header(h, "Host"), evhttp_find_header(h, "Origin"),
	        evhttp_find_header(h, "Sec-Fetch-Site"))) {
		if (console_refusal_log())
			log_warnx("refused request: 403 from another origin");
		console_http_error(req, 403, "cross-origin");
		return -1;
	}
	return 0;
}

int
console_auth_post_ok(struct console *c, struct evhttp_request *req,
    const struct console_session *s)
{
	const char *token =
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	        "X-CSRF-Token");

	if (console_auth_origin(c, req) != 0)
		return -1;
	if (token == NULL || strlen(token) != CONSOLE_TOKEN_HEX ||
	    sodium_memcmp(token, s->csrf, CONSOLE_TOKEN_HEX) != 0) {
		if (console_refusal_log())
			log_warnx(
			    "refused request: 403 without the CSRF token");
		console_http_error(req, 403, "csrf");
		return -1;
	}
	return 0;
}

/* Where a login comes from, as failures are counted. */
static void
console_auth_source(struct evhttp_request *req,
    struct console_loginlimit_src *src)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);

	console_loginlimit_source(conn != NULL
	        ? evhttp_connection_get_addr(conn)
	        : NULL,
	    src);
}

static const char *
console_auth_peer(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const char *addr = NULL;
	ev_uint16_t port;

	if (conn != NULL)
		evhttp_connection_get_peer(conn, (char **)&addr, &port);
	return addr != NULL ? addr : "?";
}

/* The session cookie.  It carries no Max-Age (the browser keeps it for
 * its session): the console ends a session after session_idle seconds
 * without a request, and a lifetime fixed at login would throw it away
 * in the middle of a night shift however busy it was.  delete: one
 * that ends it in the browser at once (logout). */
static void
console_auth_cookie_set(struct console *c, struct evhttp_request *req,
    const char *id, int delete)
{
	char v[256];

	snprintf(v, sizeof(v), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
	    CONSOLE_AUTH_COOKIE, id, delete ? "; Max-Age=0" : "",
	    c->cfg.tls_cert != NULL ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
	    v);
	sodium_memzero(v, sizeof(v));
}

/* The device cookie of a login (console_device.h): long-lived, sent
 * only to the login itself. */
static void
console_auth_device_set(struct console *c, struct evhttp_request *req,
    const char *name, const char *pwhash)
{
	char cname[CONSOLE_DEVICE_NAME_MAX], tok[CONSOLE_DEVICE_HEX + 1];
	char v[sizeof(tok) + 160];

	console_device_cookie_name(name, cname);
	console_device_issue(c->device, name, pwhash, time(NULL), tok);
	snprintf(v, sizeof(v),
	    "%s=%s; Path=/api/login; Max-Age=%ld; HttpOnly; SameSite=Strict%s",
	    cname, tok, CONSOLE_DEVICE_LIFETIME,
	    c->cfg.tls_cert != NULL ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
	    v);
	sodium_memzero(tok, sizeof(tok));
	sodium_memzero(v, sizeof(v));
}

/* locked_until: the account is locked for other browsers until then
 * (this one showed a valid device cookie); the page says so. */
static void
console_auth_welcome(struct console *c, struct evhttp_request *req,
    const struct console_user *u, const char *peer, int trusted,
    time_t locked_until, const char *pwhash)
{
	char ln[CONSOLE_LOG_NAME];
	char id[CONSOLE_TOKEN_HEX + 1], csrf[CONSOLE_TOKEN_HEX + 1];
	time_t now = time(NULL);

	if (console_sessions_new(console_db_sqlite(c->db), u->name, id, csrf) !=
	    0) {
		console_http_error(req, 500, "db");
		return;
	}
	if (locked_until > now)
		log_info("login operator=\"%s\" from %s device=trusted "
		         "account_locked_s=%lld",
		    console_log_name(u->name, ln), peer,
		    (long long)(locked_until - now));
	else
		log_info("login operator=\"%s\" from %s device=%s",
		    console_log_name(u->name, ln), peer,
		    trusted ? "trusted" : "new");
	console_work_note_action(c, "*", "login", u->name, "");
	console_auth_cookie_set(c, req, id, 0);
	console_auth_device_set(c, req, u->name, pwhash);
	console_http_json(req, 200, "OK",
	    json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", u->name, "role",
	        u->role, "lang", u->lang, "csrf", csrf, "locked_for_others",
	        locked_until > now));
	sodium_memzero(id, sizeof(id));
}

/*
 * The log line of a failed login.  A wrong password for an operator's
 * own account is always said, with the name: its first failures are
 * what an auditor looks for, and an account takes at most
 * login_max_fail of them before it locks for login_lockout seconds
 * (a device cookie as many before it locks: only logins make them).
 * Names nobody has and a locked account anyone can try at will, from
 * as many addresses as they hold: those lines are on the budget of
 * refused requests (console_refusal_log), so a flood costs a few lines
 * and one saying how many were left out, not a full disk.
 */
static void
console_auth_failed_log(struct console *c, enum console_login r, int trusted,
    const char *name, const char *peer)
{
	char ln[CONSOLE_LOG_NAME];
	const char *what = trusted ? "device" : "account";

	if (r == CONSOLE_LOGIN_BAD_PASSWORD)
		log_warnx("login failed from %s operator=\"%s\"%s", peer,
		    console_log_name(name, ln),
		    trusted ? " device=trusted" : "");
	else if (r == CONSOLE_LOGIN_BAD_LOCKS)
		log_warnx("login failed from %s operator=\"%s\"%s: %s "
		          "locked for %ld s",
		    peer, console_log_name(name, ln),
		    trusted ? " device=trusted" : "", what,
		    c->cfg.login_lockout);
	else if (!console_refusal_log())
		return;
	else if (r == CONSOLE_LOGIN_LOCKED)
		log_warnx("login refused: account locked, from %s", peer);
	else
		log_warnx("login failed from %s", peer);
}

/* 1 when the login of name shows a valid device cookie that is not
 * locked; hash: name's password hash (a dummy one for a name nobody
 * has, which no cookie matches). */
static int
console_auth_trusted(struct console *c, const char *name,
    const struct console_device_token *tok, char *hash, size_t hashlen)
{
	sqlite3 *db = console_db_sqlite(c->db);

	hash[0] = '\0'; /* on an error: a cookie made with it never verifies */
	if (console_users_lookup(db, name, hash, hashlen) != 0)
		return 0;
	return console_device_trusted(c->device, db, name, hash, tok,
	    time(NULL));
}

/* The answer to a login, once its password was checked.  Every refusal
 * is one answer, 401 "bad": a name nobody has, a wrong password and a
 * locked account look alike. */
static void
console_auth_check(struct console *c, struct console_auth_pending *p, int ok)
{
	time_t now = time(NULL), locked_until;
	sqlite3 *db = console_db_sqlite(c->db);
	char hash[crypto_pwhash_STRBYTES];
	struct console_user u;
	enum console_login r;
	int trusted;

	trusted = console_auth_trusted(c, p->name, &p->tok, hash, sizeof(hash));
	if (ok && strcmp(hash, p->checked) != 0) /* changed meanwhile */
		ok = 0;
	r = console_users_finish(db, p->name, ok, trusted, now,
	    c->cfg.login_max_fail, c->cfg.login_lockout, &u, &locked_until);
	if (r == CONSOLE_LOGIN_OK) {
		console_loginlimit_ok(c->auth->failed, &p->source);
		console_device_forget(db, &p->tok);
	} else if (r != CONSOLE_LOGIN_ERROR)
		console_loginlimit_fail(c->auth->failed, &p->source, now);
	if (trusted && r == CONSOLE_LOGIN_BAD_PASSWORD &&
	    console_device_failed(db, p->name, &p->tok, now,
	        c->cfg.login_max_fail, c->cfg.login_lockout))
		r = CONSOLE_LOGIN_BAD_LOCKS;
	if (r != CONSOLE_LOGIN_OK && r != CONSOLE_LOGIN_ERROR)
		console_auth_failed_log(c, r, trusted, p->name, p->peer);
	if (p->req == NULL) /* counted all the same; nobody to answer */
		return;
	if (r == CONSOLE_LOGIN_OK)
		console_auth_welcome(c, p->req, &u, p->peer, trusted,
		    locked_until, hash);
	else if (r == CONSOLE_LOGIN_ERROR)
		console_http_error(p->req, 500, "db");
	else
		console_http_error(p->req, 401, "bad");
}

static void
console_auth_pending_free(struct console_auth_pending *p)
{
	sodium_memzero(&p->tok, sizeof(p->tok));
	free(p);
}

/* The client's connection closed while its password was checked: the
 * check goes on (a failure still counts), the answer goes nowhere; the
 * request is freed once, by libevent or by console_http_gone. */
static void
console_auth_gone(struct evhttp_connection *conn, void *arg)
{
	struct console_auth_pending *p = arg;

	(void)conn;
	console_http_gone(&p->req);
}

static void
console_auth_checked(int ok, void *arg)
{
	struct console_auth_pending *p = arg;

	console_http_on_close(p->req, NULL, NULL);
	if (ok >= 0)
		console_auth_check(p->c, p, ok);
	console_auth_pending_free(p);
}

/* 0 when source may try a password; else it is past login_addr_max
 * (answered 429). */
static int
console_auth_addr_ok(struct console *c, struct evhttp_request *req,
    const char *peer, const struct console_loginlimit_src *source)
{
	if (console_loginlimit_failed(c->auth->failed, source, time(NULL)) <
	    c->cfg.login_addr_max)
		return 0;
	if (console_refusal_log())
		log_warnx("login refused: too many failures from %s", peer);
	console_http_error(req, 429, "wait");
	return -1;
}

/* The lane and source of a login's check: a trusted browser's by its
 * cookie (behind one address with strangers it is not theirs to
 * share), any other by its source. */
static void
console_auth_who(const struct console_auth_pending *p, int trusted,
    struct console_pwcheck_who *who)
{
	memset(who, 0, sizeof(*who));
	who->lane = trusted ? CONSOLE_PWCHECK_TRUSTED : CONSOLE_PWCHECK_OTHERS;
	if (trusted) {
		crypto_generichash(who->key, sizeof(who->key), p->tok.raw,
		    CONSOLE_DEVICE_ID, NULL, 0);
		who->keylen = sizeof(who->key);
	} else {
		memcpy(who->key, p->source.key, p->source.len);
		who->keylen = p->source.len;
	}
}

/* A check refused (its lane or its source's share full): 503.  It
 * counts against the source as a failure would, so that a flood from
 * few addresses ends in their 429s instead of going on for free; a
 * trusted browser's does not (the address is not its own to spend). */
static void
console_auth_busy(struct console *c, struct console_auth_pending *p,
    int trusted, enum console_pwcheck_refusal why)
{
	if (!trusted)
		console_loginlimit_fail(c->auth->failed, &p->source,
		    time(NULL));
	if (console_refusal_log())
		log_warnx("login refused: too many logins waiting%s, from %s%s",
		    why == CONSOLE_PWCHECK_OWN ? " from one source" : "",
		    p->peer, trusted ? " device=trusted" : "");
	evhttp_add_header(evhttp_request_get_output_headers(p->req),
	    "Retry-After", "1");
	console_http_error(p->req, 503, "busy");
	console_auth_pending_free(p);
}

/* Hands the password check to the worker thread; the answer follows
 * in console_auth_checked.  A valid device cookie is verified here
 * first (a MAC and a row, cheap): such a login passes the limit per
 * address (its cookie has a limit of its own, console_device.h) and
 * has its own lane; any other is refused 429 past login_addr_max, and
 * 503 when its lane or its source's share is full. */
static void
console_auth_start(struct console *c, struct evhttp_request *req,
    const char *peer, const struct console_loginlimit_src *source,
    const char *name, const char *password)
{
	sqlite3 *db = console_db_sqlite(c->db);
	struct console_auth_pending *p = xcalloc(1, sizeof(*p));
	struct console_pwcheck_who who;
	enum console_pwcheck_refusal r;
	int trusted;

	p->c = c;
	p->req = req;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->peer, sizeof(p->peer), "%s", peer);
	p->source = *source;
	console_device_token_read(
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie"),
	    name, &p->tok);
	if (console_users_lookup(db, name, p->checked, sizeof(p->checked)) !=
	    0) {
		console_http_error(req, 500, "db");
		console_auth_pending_free(p);
		return;
	}
	trusted = console_device_trusted(c->device, db, name, p->checked,
	    &p->tok, time(NULL));
	if (!trusted && console_auth_addr_ok(c, req, peer, source) != 0) {
		console_auth_pending_free(p);
		return;
	}
	console_auth_who(p, trusted, &who);
	r = console_pwcheck_start(c->auth->pwcheck, &who, p->checked, password,
	    console_auth_checked, p);
	if (r != CONSOLE_PWCHECK_QUEUED)
		console_auth_busy(c, p, trusted, r);
	else
		console_http_on_close(req, console_auth_gone, p);
}

/* POST /api/login {"name","password"}.  The source is looked up only
 * once the body is a login: a request that is none takes no place
 * among the counted sources. */
void
console_auth_login(struct console *c, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *peer = console_auth_peer(req), *name, *password;
	struct console_loginlimit_src source;
	json_t *o;

	if (console_auth_origin(c, req) != 0)
		return;
	console_auth_source(req, &source);
	if (console_req_login((const char *)evbuffer_pullup(in, -1),
	        evbuffer_get_length(in), &o, &name, &password) != 0)
		console_http_error(req, 400, "name, password");
	else
		console_auth_start(c, req, peer, &source, name, password);
	if (password != NULL)
		sodium_memzero((char *)password, strlen(password));
	json_decref(o);
	evbuffer_drain(in, evbuffer_get_length(in));
}

void
console_auth_logout(struct console *c, struct evhttp_request *req,
    const struct console_session *s)
{
	char ln[CONSOLE_LOG_NAME];
	char id[CONSOLE_TOKEN_HEX + 8];

	if (console_auth_cookie_id(req, id, sizeof(id)) == 0)
		console_sessions_drop(console_db_sqlite(c->db), id);
	log_info("logout operator=\"%s\"", console_log_name(s->u.name, ln));
	console_work_note_action(c, "*", "logout", s->u.name, "");
	console_auth_cookie_set(c, req, "", 1);
	console_http_json(req, 200, "OK", json_pack("{s:b}", "ok", 1));
}

void
console_auth_whoami(struct console *c, struct evhttp_request *req,
    const struct console_session *s)
{
	console_http_json(req, 200, "OK",
	    json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "name", s->u.name,
	        "role", s->u.role, "lang", s->u.lang, "csrf", s->csrf,
	        "alarm_interval_s", (json_int_t)c->cfg.alarm_interval,
	        "heartbeat_ms", (json_int_t)CONSOLE_EVENTS_HEARTBEAT_MS));
}

void
console_auth_lang(struct console *c, struct evhttp_request *req,
    const struct console_session *s)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char lang[3];

	if (console_req_lang((const char *)evbuffer_pullup(in, -1),
	        evbuffer_get_length(in), lang) != 0)
		console_http_error(req, 400, "lang");
	else if (console_users_set_lang(console_db_sqlite(c->db), s->u.name,
	             lang) != 0)
		console_http_error(req, 500, "db");
	else
		console_http_json(req, 200, "OK",
		    json_pack("{s:s}", "lang", lang));
}
