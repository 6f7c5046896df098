/*
 * The device's cancel PINs (docs/SECURITY.md, "Duress"): the normal PIN
 * and the duress PIN, kept only as Argon2id hashes (libsodium
 * crypto_pwhash_str) in a file beside the device key, DEVICE_KEY.pin,
 * mode 0600:
 *
 *	{"v":1,"pin":"$argon2id$...","duress":"$argon2id$..."}
 *
 * Version 2 is the same file after the PINs were changed or cleared with
 * the duress PIN (pincode_change.h): the official's own two hashes stay,
 * with the PINs shown to whoever forced the change, when that was a set:
 *
 *	{"v":2,"pin":H,"duress":H[,"shown_pin":H,"shown_duress":H]}
 *
 * Every cancel is then a duress cancel, until the official sets PINs
 * with the own PIN.  Without the file, cancel asks no PIN (as before
 * PINs existed).
 */
#ifndef ALERTCTL_PINFILE_H
#define ALERTCTL_PINFILE_H

#include <stddef.h>

#include <sodium.h>

#define PINFILE_MAX 4096 /* bytes of a PIN file read, at most */
#define PIN_MIN 4 /* characters of a PIN */
#define PIN_MAX 64

struct pinfile {
	char pin[crypto_pwhash_STRBYTES]; /* the official's own PIN's hash */
	char duress[crypto_pwhash_STRBYTES]; /* the duress PIN's hash */
	int forced; /* version 2: changed with the duress PIN */
	int shown; /* forced by a set: the next two are the PINs shown */
	char shown_pin[crypto_pwhash_STRBYTES];
	char shown_duress[crypto_pwhash_STRBYTES];
};

/* The PIN file of a device key (caller frees). */
char *pinfile_path(const char *device_key);
/* Parses a PIN file's bytes: 0, or -1 with why in err. */
int pinfile_parse(const char *buf, size_t len, struct pinfile *pf, char *err,
    size_t errlen);
/* 1 loaded, 0 no PIN file, -1 unusable (why in err). */
int pinfile_load(const char *path, struct pinfile *pf, char *err,
    size_t errlen);
/* Hashes a PIN as every hash of the file is made: 0, or -1. */
int pinfile_hash_pin(char out[crypto_pwhash_STRBYTES], const char *pin);
/* Writes pf as the file (replacing it atomically, synced), mode 0600. */
int pinfile_store(const char *path, const struct pinfile *pf, char *err,
    size_t errlen);
/* Hashes both PINs and writes a version 1 file, as pinfile_store. */
int pinfile_write(const char *path, const char *pin, const char *duress,
    char *err, size_t errlen);
/* Whether the device shows PINs as set: cancel asks one, status says
 * so.  Not after a clear with the duress PIN. */
int pinfile_shows_pins(const struct pinfile *pf);

/* Which PIN was entered (pinfile_check.c).  Each check verifies it
 * against four hashes always (the same Argon2id work whatever the
 * answer and whatever the file's version). */
enum pin_match { PIN_WRONG = 0, PIN_NORMAL = 1, PIN_DURESS = 2 };
/* For cancel: PIN_NORMAL only for the own PIN of a file not forced;
 * every other PIN the device accepts is PIN_DURESS. */
enum pin_match pinfile_check(const struct pinfile *pf, const char *pin);
/* For set and clear, the current PIN: PIN_NORMAL for the official's own
 * PIN (forced or not), PIN_DURESS for any other PIN the device accepts. */
enum pin_match pinfile_check_current(const struct pinfile *pf, const char *pin);
/* 1 when pin is the own PIN of a forced file; one Argon2id run whatever
 * pf is (NULL: no file). */
int pinfile_is_own(const struct pinfile *pf, const char *pin);

#endif
