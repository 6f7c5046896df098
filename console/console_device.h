/*
 * Device cookies (OWASP's "device cookies"): after a login, the browser
 * gets a long-lived cookie binding the operator's name, a random id and
 * the time it was issued with a MAC (crypto_auth) under a secret of the
 * console's own (state_dir/device.key, 0600, made at first start).  The
 * operator's password hash is in the MAC too, so a new password, or the
 * operator removed and added again, voids every device cookie of theirs.
 * A login that shows a valid one for its name passes the account lock
 * that other clients' wrong passwords caused; its own wrong passwords
 * count against that cookie alone (table device_fail).
 */
#ifndef ALERTCONSOLE_CONSOLE_DEVICE_H
#define ALERTCONSOLE_CONSOLE_DEVICE_H

#include <time.h>

#include <sodium.h>

#define CONSOLE_DEVICE_FILE "device.key"
#define CONSOLE_DEVICE_ID 32 /* random bytes of a cookie's id */
/* id, issued (8 bytes, big-endian), MAC */
#define CONSOLE_DEVICE_RAW (CONSOLE_DEVICE_ID + 8 + crypto_auth_BYTES)
#define CONSOLE_DEVICE_HEX (2 * CONSOLE_DEVICE_RAW)
/* Its cookie's name: this prefix and 16 hex digits of the name's hash. */
#define CONSOLE_DEVICE_COOKIE "alertconsole_device_"
#define CONSOLE_DEVICE_NAME_MAX (sizeof(CONSOLE_DEVICE_COOKIE) + 16)
#define CONSOLE_DEVICE_LIFETIME (365L * 24 * 3600) /* seconds */

struct sqlite3;
struct console_device;

/* A device cookie as the browser showed it, still to be verified. */
struct console_device_token {
	int present;
	unsigned char raw[CONSOLE_DEVICE_RAW];
};

/* The secret from dir, made first when there is none; NULL (logged)
 * when it cannot be read or made. */
struct console_device *console_device_open(const char *dir);
void console_device_free(struct console_device *d);

/* The name of the cookie that holds name's device cookie. */
void console_device_cookie_name(const char *name,
    char out[CONSOLE_DEVICE_NAME_MAX]);
/* name's device cookie from a Cookie header (may be NULL) into t;
 * t->present is 0 when there is none of the right form. */
void console_device_token_read(const char *header, const char *name,
    struct console_device_token *t);

/* 1 when t is a device cookie this console issued for name while its
 * password hash was pwhash, not older than CONSOLE_DEVICE_LIFETIME, and
 * not locked by its own failures; else 0. */
int console_device_trusted(struct console_device *d, struct sqlite3 *db,
    const char *name, const char *pwhash, const struct console_device_token *t,
    time_t now);
/* A wrong password shown with the trusted cookie t: counted against
 * it; 1 when this one locks it for lockout_s seconds, else 0. */
int console_device_failed(struct sqlite3 *db, const char *name,
    const struct console_device_token *t, time_t now, long max_fail,
    long lockout_s);
/* A right password shown with t: its count is over. */
void console_device_forget(struct sqlite3 *db,
    const struct console_device_token *t);
/* A new device cookie for name (whose password hash is pwhash) as hex
 * into out. */
void console_device_issue(struct console_device *d, const char *name,
    const char *pwhash, time_t now, char out[CONSOLE_DEVICE_HEX + 1]);

#endif
