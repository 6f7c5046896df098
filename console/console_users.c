/*
 * The operators and their sessions (console_users.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "console_users.h"
#include "log.h"
#include "text_char.h"

/* Argon2id at libsodium's "interactive" cost: about 0.1 s and 64 MiB
 * per login, on a worker thread (console_pwcheck.c); the login limits
 * and that thread's bounded queue bound how often. */
#define CONSOLE_USERS_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define CONSOLE_USERS_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

int
console_users_name_ok(const char *name)
{
	size_t n = strlen(name), i;
	json_t *utf8;

	if (n == 0 || n > CONSOLE_NAME_MAX || name[0] == ' ' ||
	    name[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	/* jansson checks UTF-8 when it makes a string */
	if ((utf8 = json_string(name)) == NULL)
		return 0;
	json_decref(utf8);
	return 1;
}

const char *
console_log_name(const char *name, char buf[CONSOLE_LOG_NAME])
{
	return text_clean(name, buf, CONSOLE_LOG_NAME, 1);
}

int
console_users_role_ok(const char *role)
{
	return strcmp(role, "operator") == 0 || strcmp(role, "supervisor") == 0;
}

/* One statement with text parameters; SQLITE_DONE or SQLITE_ROW. */
static int
console_users_run(sqlite3 *db, const char *sql, int nargs, const char **args)
{
	sqlite3_stmt *s;
	int i, rc;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_warnx("database: %s", sqlite3_errmsg(db));
		return -1;
	}
	for (i = 0; i < nargs; i++)
		sqlite3_bind_text(s, i + 1, args[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc;
}

static int
console_users_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
	if (crypto_pwhash_str(out, password, strlen(password),
	        CONSOLE_USERS_OPS, CONSOLE_USERS_MEM) != 0) {
		log_warnx("cannot hash the password (out of memory)");
		return -1;
	}
	return 0;
}

int
console_users_add(sqlite3 *db, const char *name, const char *role,
    const char *password)
{
	char hash[crypto_pwhash_STRBYTES], now[24];
	const char *args[4] = {name, hash, role, now};
	int rc;

	if (console_users_hash(password, hash) != 0)
		return -1;
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	rc = console_users_run(db,
	    "INSERT INTO operator (name, hash, role, created_at) "
	    "VALUES (?,?,?,?)",
	    4, args);
	if (rc != SQLITE_DONE) {
		log_warnx("user %s: %s", name,
		    sqlite3_errcode(db) == SQLITE_CONSTRAINT
		        ? "exists already"
		        : sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* What is kept of name's logins: sessions, failures of device cookies. */
static void
console_users_forget(sqlite3 *db, const char *name)
{
	(void)console_users_run(db, "DELETE FROM session WHERE name = ?", 1,
	    &name);
	(void)console_users_run(db, "DELETE FROM device_fail WHERE name = ?", 1,
	    &name);
}

int
console_users_passwd(sqlite3 *db, const char *name, const char *password)
{
	char hash[crypto_pwhash_STRBYTES];
	const char *args[2] = {hash, name};

	if (console_users_hash(password, hash) != 0)
		return -1;
	if (console_users_run(db,
	        "UPDATE operator SET hash = ?, failed = 0, locked_until = 0 "
	        "WHERE name = ?",
	        2, args) != SQLITE_DONE ||
	    sqlite3_changes(db) != 1) {
		log_warnx("user %s: no such user", name);
		return -1;
	}
	/* a new password ends the old sessions; its hash, in their MAC,
	 * voids the device cookies (console_device.h) */
	console_users_forget(db, name);
	return 0;
}

int
console_users_remove(sqlite3 *db, const char *name)
{
	if (console_users_run(db, "DELETE FROM operator WHERE name = ?", 1,
	        &name) != SQLITE_DONE ||
	    sqlite3_changes(db) != 1) {
		log_warnx("user %s: no such user", name);
		return -1;
	}
	console_users_forget(db, name);
	return 0;
}

int
console_users_list(sqlite3 *db)
{
	sqlite3_stmt *s;
	time_t now = time(NULL);
	int rc;

	if (sqlite3_prepare_v2(db,
	        "SELECT name, role, lang, locked_until FROM operator "
	        "ORDER BY name",
	        -1, &s, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		printf("%s\t%s\t%s\t%s\n", sqlite3_column_text(s, 0),
		    sqlite3_column_text(s, 1),
		    sqlite3_column_bytes(s, 2) > 0
		        ? (const char *)sqlite3_column_text(s, 2)
		        : "-",
		    sqlite3_column_int64(s, 3) > now ? "locked" : "active");
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

void
console_users_warn_unackable(sqlite3 *db)
{
	sqlite3_stmt *s;
	int n = 0;

	if (sqlite3_prepare_v2(db, "SELECT name FROM operator", -1, &s, NULL) !=
	    SQLITE_OK)
		return;
	while (sqlite3_step(s) == SQLITE_ROW)
		if (!text_ok((const char *)sqlite3_column_text(s, 0),
		        CONSOLE_NAME_MAX))
			n++;
	sqlite3_finalize(s);
	/* the names themselves stay out of the log: such characters turn
	 * the text of a log line around */
	if (n > 0)
		log_warnx("operators=%d have a name with a bidi override, "
		          "isolate or C1 control, which the relay refuses in "
		          "an "
		          "acknowledgement: their acknowledgements fail; add "
		          "them again under another name (alertconsole user)",
		    n);
}

int
console_users_set_lang(sqlite3 *db, const char *name, const char *lang)
{
	const char *args[2] = {lang, name};

	return console_users_run(db,
	           "UPDATE operator SET lang = ? WHERE name = ?", 2,
	           args) == SQLITE_DONE
	    ? 0
	    : -1;
}

/* A hash to check against when the name is unknown, so that the answer
 * takes as long as for a known one. */
static const char *
console_users_dummy(void)
{
	static char dummy[crypto_pwhash_STRBYTES];

	if (dummy[0] == '\0' &&
	    console_users_hash("not a password of anyone", dummy) != 0)
		return NULL;
	return dummy;
}

int
console_users_prepare(void)
{
	return console_users_dummy() != NULL ? 0 : -1;
}

static void
console_users_count(sqlite3 *db, const char *name, int ok, time_t now,
    long max_fail, long lockout_s)
{
	sqlite3_stmt *s;

	if (ok) {
		(void)console_users_run(db,
		    "UPDATE operator SET failed = 0 WHERE name = ?", 1, &name);
		return;
	}
	/* SET expressions all read the row as it was */
	if (sqlite3_prepare_v2(db,
	        "UPDATE operator SET locked_until = CASE WHEN failed + 1 >= ?2 "
	        "THEN ?1 ELSE locked_until END, failed = CASE WHEN "
	        "failed + 1 >= ?2 THEN 0 ELSE failed + 1 END WHERE name = ?3",
	        -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)(now + lockout_s));
	sqlite3_bind_int64(s, 2, max_fail);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		log_warnx("database: %s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
}

int
console_users_lookup(sqlite3 *db, const char *name, char *hash, size_t hashlen)
{
	sqlite3_stmt *s;
	const char *h;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT hash FROM operator WHERE name = ?",
	        -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	h = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0)
	                     : console_users_dummy();
	if ((rc != SQLITE_ROW && rc != SQLITE_DONE) || h == NULL ||
	    strlen(h) >= hashlen) {
		sqlite3_finalize(s);
		return -1;
	}
	memcpy(hash, h, strlen(h) + 1);
	sqlite3_finalize(s);
	return 0;
}

/* The row is read again after the check: a lock or a removal that came
 * while the password was being checked counts, as if the logins had
 * come one after the other. */
enum console_login
console_users_finish(sqlite3 *db, const char *name, int ok, int trusted,
    time_t now, long max_fail, long lockout_s, struct console_user *u,
    time_t *locked_until)
{
	sqlite3_stmt *s;
	enum console_login r = CONSOLE_LOGIN_BAD;
	int found;

	*locked_until = 0;

	if (sqlite3_prepare_v2(db,
	        "SELECT role, lang, locked_until, failed FROM operator "
	        "WHERE name = ?",
	        -1, &s, NULL) != SQLITE_OK)
		return CONSOLE_LOGIN_ERROR;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(s) == SQLITE_ROW;
	if (found && sqlite3_column_int64(s, 2) > now)
		*locked_until = (time_t)sqlite3_column_int64(s, 2);
	if (*locked_until > now && !trusted)
		r = CONSOLE_LOGIN_LOCKED;
	else if (found && !ok && trusted) /* counted on its cookie */
		r = CONSOLE_LOGIN_BAD_PASSWORD;
	else if (found && !ok)
		r = sqlite3_column_int64(s, 3) + 1 >= max_fail
		    ? CONSOLE_LOGIN_BAD_LOCKS
		    : CONSOLE_LOGIN_BAD_PASSWORD;
	else if (found && ok) {
		r = CONSOLE_LOGIN_OK;
		memset(u, 0, sizeof(*u));
		snprintf(u->name, sizeof(u->name), "%s", name);
		snprintf(u->role, sizeof(u->role), "%s",
		    sqlite3_column_text(s, 0));
		snprintf(u->lang, sizeof(u->lang), "%s",
		    sqlite3_column_text(s, 1));
	}
	sqlite3_finalize(s);
	/* a trusted browser neither counts against the account nor ends
	 * the count other clients' wrong passwords made */
	if (found && r != CONSOLE_LOGIN_LOCKED && !trusted)
		console_users_count(db, name, r == CONSOLE_LOGIN_OK, now,
		    max_fail, lockout_s);
	return r;
}

static void
console_users_random_hex(char out[CONSOLE_TOKEN_HEX + 1])
{
	unsigned char raw[CONSOLE_TOKEN_HEX / 2];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, CONSOLE_TOKEN_HEX + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

/* What the table holds for a session id: its BLAKE2b hash. */
static void
console_users_id_hash(const char *id, char out[CONSOLE_TOKEN_HEX + 1])
{
	unsigned char h[CONSOLE_TOKEN_HEX / 2];

	crypto_generichash(h, sizeof(h), (const unsigned char *)id, strlen(id),
	    NULL, 0);
	sodium_bin2hex(out, CONSOLE_TOKEN_HEX + 1, h, sizeof(h));
}

int
console_sessions_new(sqlite3 *db, const char *name,
    char id[CONSOLE_TOKEN_HEX + 1], char csrf[CONSOLE_TOKEN_HEX + 1])
{
	char hash[CONSOLE_TOKEN_HEX + 1], now[24];
	const char *args[5] = {hash, name, csrf, now, now};

	console_users_random_hex(id);
	console_users_random_hex(csrf);
	console_users_id_hash(id, hash);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	return console_users_run(db,
	           "INSERT INTO session (id_hash, name, csrf, created_at, "
	           "seen_at) VALUES (?,?,?,?,?)",
	           5, args) == SQLITE_DONE
	    ? 0
	    : -1;
}

int
console_sessions_find(sqlite3 *db, const char *id, time_t now, long idle_s,
    int touch, struct console_user *u, char csrf[CONSOLE_TOKEN_HEX + 1])
{
	char hash[CONSOLE_TOKEN_HEX + 1], at[24];
	const char *args[2] = {at, hash};
	sqlite3_stmt *s;
	int rc = -1;

	if (strlen(id) != CONSOLE_TOKEN_HEX)
		return -1;
	console_users_id_hash(id, hash);
	if (sqlite3_prepare_v2(db,
	        "SELECT s.name, o.role, o.lang, s.csrf, s.seen_at FROM "
	        "session s JOIN operator o ON o.name = s.name "
	        "WHERE s.id_hash = ?",
	        -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		if (now - sqlite3_column_int64(s, 4) <= idle_s) {
			memset(u, 0, sizeof(*u));
			snprintf(u->name, sizeof(u->name), "%s",
			    sqlite3_column_text(s, 0));
			snprintf(u->role, sizeof(u->role), "%s",
			    sqlite3_column_text(s, 1));
			snprintf(u->lang, sizeof(u->lang), "%s",
			    sqlite3_column_text(s, 2));
			snprintf(csrf, CONSOLE_TOKEN_HEX + 1, "%s",
			    sqlite3_column_text(s, 3));
			rc = 0;
		} else
			rc = 1; /* idle too long: dropped below */
	}
	sqlite3_finalize(s);
	if (rc == 1) {
		(void)console_users_run(db,
		    "DELETE FROM session WHERE id_hash = ?", 1, &args[1]);
		return -1;
	}
	if (rc == 0 && touch) {
		snprintf(at, sizeof(at), "%lld", (long long)now);
		(void)console_users_run(db,
		    "UPDATE session SET seen_at = ? WHERE id_hash = ?", 2,
		    args);
	}
	return rc;
}

void
console_sessions_drop(sqlite3 *db, const char *id)
{
	char hash[CONSOLE_TOKEN_HEX + 1];
	const char *args[1] = {hash};

	if (strlen(id) != CONSOLE_TOKEN_HEX)
		return;
	console_users_id_hash(id, hash);
	(void)console_users_run(db, "DELETE FROM session WHERE id_hash = ?", 1,
	    args);
}
