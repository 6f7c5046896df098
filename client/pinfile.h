/*
 * The device's cancel PINs (docs/SECURITY.md, "Duress"): the normal PIN
 * and the duress PIN, kept only as Argon2id hashes (libsodium
 * crypto_pwhash_str) in a file beside the device key, DEVICE_KEY.pin,
 * mode 0600:
 *
 *	{"v":1,"pin":"$argon2id$...","duress":"$argon2id$..."}
 *
 * Without that file, cancel asks no PIN (as before PINs existed).
 */
#ifndef ALERTCTL_PINFILE_H
#define ALERTCTL_PINFILE_H

#include <stddef.h>

#include <sodium.h>

#define PINFILE_MAX 4096 /* bytes of a PIN file read, at most */
#define PIN_MIN 4 /* characters of a PIN */
#define PIN_MAX 64

struct pinfile {
	char pin[crypto_pwhash_STRBYTES]; /* the normal PIN's hash */
	char duress[crypto_pwhash_STRBYTES]; /* the duress PIN's hash */
};

/* The PIN file of a device key (caller frees). */
char *pinfile_path(const char *device_key);
/* Parses a PIN file's bytes: 0, or -1 with why in err. */
int pinfile_parse(const char *buf, size_t len, struct pinfile *pf, char *err,
    size_t errlen);
/* 1 loaded, 0 no PIN file, -1 unusable (why in err). */
int pinfile_load(const char *path, struct pinfile *pf, char *err,
    size_t errlen);
/* Hashes both PINs and writes the file (replacing it), mode 0600. */
int pinfile_write(const char *path, const char *pin, const char *duress,
    char *err, size_t errlen);

/* Which PIN was entered: checks it against both hashes always (the same
 * Argon2id work whatever the answer) and chooses without a branch on
 * the result.  PIN_WRONG, PIN_NORMAL or PIN_DURESS. */
enum pin_match { PIN_WRONG = 0, PIN_NORMAL = 1, PIN_DURESS = 2 };
enum pin_match pinfile_check(const struct pinfile *pf, const char *pin);

#endif
