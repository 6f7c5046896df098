/*
 * The console's operators and their sessions, in the console's SQLite
 * database: names, roles and Argon2id password hashes (libsodium's
 * crypto_pwhash_str), failed-login counts and locks; sessions by the
 * hash of their random id, with a CSRF token and the time last used.
 */
#ifndef ALERTCONSOLE_CONSOLE_USERS_H
#define ALERTCONSOLE_CONSOLE_USERS_H

#include <stddef.h>
#include <time.h>

struct sqlite3;

#define CONSOLE_NAME_MAX 64 /* bytes of an operator's name */
#define CONSOLE_PASS_MIN 10
#define CONSOLE_PASS_MAX 1024
#define CONSOLE_TOKEN_HEX 64 /* a session id or CSRF token: 32 bytes */

struct console_user {
	char name[CONSOLE_NAME_MAX + 1];
	char role[16]; /* operator, supervisor */
	char lang[8]; /* nl, en, or "" (the browser's) */
};

/* Every failure, LOCKED too, gets one answer, so that nobody learns
 * which names are operators'; they differ for the log only
 * (console_auth.c): an operator's own account is always logged. */
enum console_login {
	CONSOLE_LOGIN_OK,
	CONSOLE_LOGIN_BAD, /* no such operator */
	CONSOLE_LOGIN_BAD_PASSWORD, /* an operator's, a wrong password */
	CONSOLE_LOGIN_BAD_LOCKS, /* ... the one that locks the account */
	CONSOLE_LOGIN_LOCKED,
	CONSOLE_LOGIN_ERROR,
};

/* 1 when name may name an operator: 1..CONSOLE_NAME_MAX bytes of UTF-8,
 * no control characters, no space at either end. */
int console_users_name_ok(const char *name);
/* name as a log line carries it, in operator="...": a character
 * text_char.h calls bad a '?', '"' and '\\' a '\'', so that a name made
 * before user add refused such characters can neither turn the line
 * around nor end its value early. */
#define CONSOLE_LOG_NAME (CONSOLE_NAME_MAX + 1)
const char *console_log_name(const char *name, char buf[CONSOLE_LOG_NAME]);
int console_users_role_ok(const char *role);

/* 0 done; -1 (logged) when not (exists, unknown, database error). */
int console_users_add(struct sqlite3 *db, const char *name, const char *role,
    const char *password);
int console_users_passwd(struct sqlite3 *db, const char *name,
    const char *password);
int console_users_remove(struct sqlite3 *db, const char *name);
int console_users_list(struct sqlite3 *db);
/* Warns (in the log) of accounts whose names the relay refuses in an
 * acknowledgement's "by" (text_char.h): made before that rule. */
void console_users_warn_unackable(struct sqlite3 *db);
int console_users_set_lang(struct sqlite3 *db, const char *name,
    const char *lang);

/* A login attempt in two steps, so that the password check (Argon2id,
 * about 0.1 s) runs off the event loop (console_pwcheck.h) between
 * them.  lookup: the hash to check the password against into hash
 * (a dummy one for an unknown name, so that the answer takes as long);
 * 0, or -1 on a database error.  finish: with the check's answer, the
 * outcome; max_fail wrong passwords in a row lock the account for
 * lockout_s seconds (a right password then is refused too). */
/* Once at start, before the loop: the hash an unknown name is checked
 * against (Argon2id, too slow to make inside the loop). */
int console_users_prepare(void);
int console_users_lookup(struct sqlite3 *db, const char *name, char *hash,
    size_t hashlen);
/* trusted: the login showed a valid device cookie (console_device.h):
 * the account's lock does not refuse it and its wrong password is not
 * counted here.  *locked_until: when the account's lock ends (0: not
 * locked). */
enum console_login console_users_finish(struct sqlite3 *db, const char *name,
    int ok, int trusted, time_t now, long max_fail, long lockout_s,
    struct console_user *u, time_t *locked_until);

/* A new session for name: its id (for the cookie; only its hash is
 * stored) and its CSRF token. */
int console_sessions_new(struct sqlite3 *db, const char *name,
    char id[CONSOLE_TOKEN_HEX + 1], char csrf[CONSOLE_TOKEN_HEX + 1]);
/* The session of a cookie's id, unless idle longer than idle_s (then
 * it is dropped); touch: this request counts as use.  0 found. */
int console_sessions_find(struct sqlite3 *db, const char *id, time_t now,
    long idle_s, int touch, struct console_user *u,
    char csrf[CONSOLE_TOKEN_HEX + 1]);
void console_sessions_drop(struct sqlite3 *db, const char *id);

#endif
