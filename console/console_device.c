/*
 * Device cookies: the secret, making and checking a cookie, and the
 * failures counted against one (console_device.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "console_cookie.h"
#include "console_device.h"
#include "keyfile.h"
#include "log.h"
#include "seckey.h"
#include "xmalloc.h"

/* What the MAC covers: a label, the name, the id, the time issued and
 * the password hash, each of fixed length or ended by a NUL. */
#define CONSOLE_DEVICE_LABEL "alertconsole device cookie 1"
#define CONSOLE_DEVICE_MSG_MAX 512

struct console_device {
	unsigned char *key; /* crypto_auth_KEYBYTES, sodium_malloc'd */
};

struct console_device *
console_device_open(const char *dir)
{
	unsigned char fresh[crypto_auth_KEYBYTES];
	char err[256], *path = xasprintf("%s/%s", dir, CONSOLE_DEVICE_FILE);
	struct console_device *d = xcalloc(1, sizeof(*d));
	struct stat st;

	if (stat(path, &st) != 0 && errno == ENOENT) {
		crypto_auth_keygen(fresh);
		if (keyfile_write(path, fresh, sizeof(fresh), 1, err,
		        sizeof(err)) != 0)
			log_warnx("device cookie secret: %s", err);
		else
			log_info("device cookie secret %s made", path);
		sodium_memzero(fresh, sizeof(fresh));
	}
	d->key = seckey_load(path, crypto_auth_KEYBYTES, err, sizeof(err));
	free(path);
	if (d->key == NULL) {
		log_warnx("device cookie secret: %s", err);
		free(d);
		return NULL;
	}
	return d;
}

void
console_device_free(struct console_device *d)
{
	if (d == NULL)
		return;
	seckey_free(d->key);
	free(d);
}

void
console_device_cookie_name(const char *name, char out[CONSOLE_DEVICE_NAME_MAX])
{
	unsigned char h[8];
	char hex[2 * sizeof(h) + 1];

	crypto_generichash(h, sizeof(h), (const unsigned char *)name,
	    strlen(name), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, CONSOLE_DEVICE_NAME_MAX, "%s%s", CONSOLE_DEVICE_COOKIE,
	    hex);
}

void
console_device_token_read(const char *header, const char *name,
    struct console_device_token *t)
{
	char cname[CONSOLE_DEVICE_NAME_MAX], hex[CONSOLE_DEVICE_HEX + 2];
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	console_device_cookie_name(name, cname);
	if (console_cookie_value(header, cname, hex, sizeof(hex)) != 0)
		return;
	t->present = strlen(hex) == CONSOLE_DEVICE_HEX &&
	    sodium_hex2bin(t->raw, sizeof(t->raw), hex, CONSOLE_DEVICE_HEX,
	        NULL, &n, NULL) == 0 &&
	    n == CONSOLE_DEVICE_RAW;
	sodium_memzero(hex, sizeof(hex));
}

/* The MAC of a cookie's id and time for name and pwhash into mac; -1
 * when they do not fit (never for a name and hash the console keeps). */
static int
console_device_mac(const struct console_device *d, const char *name,
    const char *pwhash, const unsigned char *id_issued,
    unsigned char mac[crypto_auth_BYTES])
{
	unsigned char msg[CONSOLE_DEVICE_MSG_MAX];
	size_t nl = strlen(name) + 1, hl = strlen(pwhash) + 1, n = 0;

	if (sizeof(CONSOLE_DEVICE_LABEL) + nl + CONSOLE_DEVICE_ID + 8 + hl >
	    sizeof(msg))
		return -1;
	memcpy(msg, CONSOLE_DEVICE_LABEL, sizeof(CONSOLE_DEVICE_LABEL));
	n += sizeof(CONSOLE_DEVICE_LABEL);
	memcpy(msg + n, name, nl);
	n += nl;
	memcpy(msg + n, id_issued, CONSOLE_DEVICE_ID + 8);
	n += CONSOLE_DEVICE_ID + 8;
	memcpy(msg + n, pwhash, hl);
	n += hl;
	crypto_auth(mac, msg, n, d->key);
	sodium_memzero(msg, sizeof(msg));
	return 0;
}

static time_t
console_device_issued(const unsigned char *raw)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		v = v << 8 | raw[CONSOLE_DEVICE_ID + i];
	return (time_t)v;
}

/* The row of a cookie in device_fail: by the hash of its id, so that the
 * database never holds a cookie's id. */
static void
console_device_row(const struct console_device_token *t,
    char out[2 * crypto_generichash_BYTES + 1])
{
	unsigned char h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), t->raw, CONSOLE_DEVICE_ID, NULL, 0);
	sodium_bin2hex(out, 2 * crypto_generichash_BYTES + 1, h, sizeof(h));
}

static int
console_device_locked(sqlite3 *db, const struct console_device_token *t,
    time_t now)
{
	char row[2 * crypto_generichash_BYTES + 1];
	sqlite3_stmt *s;
	int locked = 1; /* a database error trusts nobody */

	console_device_row(t, row);
	if (sqlite3_prepare_v2(db,
	        "SELECT locked_until FROM device_fail WHERE id_hash = ?", -1,
	        &s, NULL) != SQLITE_OK)
		return 1;
	sqlite3_bind_text(s, 1, row, -1, SQLITE_STATIC);
	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		locked = sqlite3_column_int64(s, 0) > now;
		break;
	case SQLITE_DONE:
		locked = 0;
		break;
	}
	sqlite3_finalize(s);
	return locked;
}

int
console_device_trusted(struct console_device *d, sqlite3 *db, const char *name,
    const char *pwhash, const struct console_device_token *t, time_t now)
{
	unsigned char mac[crypto_auth_BYTES];
	time_t issued;
	int ok;

	if (!t->present)
		return 0;
	issued = console_device_issued(t->raw);
	if (issued > now + 300 || now - issued > CONSOLE_DEVICE_LIFETIME)
		return 0;
	ok = console_device_mac(d, name, pwhash, t->raw, mac) == 0 &&
	    sodium_memcmp(mac, t->raw + CONSOLE_DEVICE_ID + 8, sizeof(mac)) ==
	        0;
	sodium_memzero(mac, sizeof(mac));
	return ok && !console_device_locked(db, t, now);
}

int
console_device_failed(sqlite3 *db, const char *name,
    const struct console_device_token *t, time_t now, long max_fail,
    long lockout_s)
{
	char row[2 * crypto_generichash_BYTES + 1];
	sqlite3_stmt *s;
	int locks = 0;

	console_device_row(t, row);
	/* a row per cookie that failed: only the console makes cookies, one
	 * per login, and those past their lifetime go here */
	if (sqlite3_prepare_v2(db,
	        "INSERT INTO device_fail (id_hash, name, failed, locked_until,"
	        " issued) VALUES (?1, ?2, 1, 0, ?3) ON CONFLICT (id_hash) DO "
	        "UPDATE SET failed = failed + 1 RETURNING failed",
	        -1, &s, NULL) != SQLITE_OK) {
		log_warnx("database: %s", sqlite3_errmsg(db));
		return 0;
	}
	sqlite3_bind_text(s, 1, row, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)console_device_issued(t->raw));
	if (sqlite3_step(s) == SQLITE_ROW)
		locks = sqlite3_column_int64(s, 0) >= max_fail;
	sqlite3_finalize(s);
	if (locks &&
	    sqlite3_prepare_v2(db,
	        "UPDATE device_fail SET failed = 0, locked_until = ?1"
	        " WHERE id_hash = ?2",
	        -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)(now + lockout_s));
		sqlite3_bind_text(s, 2, row, -1, SQLITE_STATIC);
		(void)sqlite3_step(s);
		sqlite3_finalize(s);
	}
	if (sqlite3_prepare_v2(db,
	        "DELETE FROM device_fail WHERE issued < ?1 AND locked_until < "
	        "?2",
	        -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1,
		    (sqlite3_int64)(now - CONSOLE_DEVICE_LIFETIME));
		sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
		(void)sqlite3_step(s);
		sqlite3_finalize(s);
	}
	return locks;
}

void
console_device_forget(sqlite3 *db, const struct console_device_token *t)
{
	char row[2 * crypto_generichash_BYTES + 1];
	sqlite3_stmt *s;

	if (!t->present)
		return;
	console_device_row(t, row);
	if (sqlite3_prepare_v2(db, "DELETE FROM device_fail WHERE id_hash = ?",
	        -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, row, -1, SQLITE_STATIC);
	(void)sqlite3_step(s);
	sqlite3_finalize(s);
}

void
console_device_issue(struct console_device *d, const char *name,
    const char *pwhash, time_t now, char out[CONSOLE_DEVICE_HEX + 1])
{
	unsigned char raw[CONSOLE_DEVICE_RAW];
	unsigned long long v = (unsigned long long)now;
	size_t i;

	randombytes_buf(raw, CONSOLE_DEVICE_ID);
	for (i = 0; i < 8; i++)
		raw[CONSOLE_DEVICE_ID + i] = (unsigned char)(v >> (56 - 8 * i));
	if (console_device_mac(d, name, pwhash, raw,
	        raw + CONSOLE_DEVICE_ID + 8) != 0)
		memset(raw + CONSOLE_DEVICE_ID + 8, 0, crypto_auth_BYTES);
	sodium_bin2hex(out, CONSOLE_DEVICE_HEX + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}
