/*
 * The device's cancel PINs as Argon2id hashes (pinfile.h): reading,
 * parsing, writing and checking an entered PIN against both.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "afile.h"
#include "keyfile.h"
#include "pinfile.h"
#include "util.h"
#include "xmalloc.h"

#define PINFILE_VERSION 1

char *
pinfile_path(const char *device_key)
{
	return xasprintf("%s.pin", device_key);
}

/* One hash field: an Argon2id string that fits crypto_pwhash_STRBYTES. */
static int
pinfile_hash(const json_t *o, const char *key, char *out)
{
	const char *s = json_string_value(json_object_get(o, key));
	size_t n = s != NULL ? json_string_length(json_object_get(o, key)) : 0;

	if (s == NULL || n >= crypto_pwhash_STRBYTES || strlen(s) != n ||
	    strncmp(s, crypto_pwhash_argon2id_STRPREFIX,
	        strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0)
		return -1;
	/* Exactly the cost pinfile_write() uses: a file cannot make cancel
	 * ask for gigabytes, nor for less work than a guesser must do. */
	if (crypto_pwhash_str_needs_rehash(s,
	        crypto_pwhash_OPSLIMIT_INTERACTIVE,
	        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return -1;
	memcpy(out, s, n + 1);
	return 0;
}

int
pinfile_parse(const char *buf, size_t len, struct pinfile *pf, char *err,
    size_t errlen)
{
	json_t *o;
	json_t *v;
	int rc = -1;

	memset(pf, 0, sizeof(*pf));
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	v = json_object_get(o, "v");
	if (!json_is_object(o))
		errf(err, errlen, "not a JSON object");
	else if (!json_is_integer(v) ||
	    json_integer_value(v) != PINFILE_VERSION)
		errf(err, errlen, "unknown version");
	else if (json_object_size(o) != 3)
		errf(err, errlen, "expected v, pin and duress only");
	else if (pinfile_hash(o, "pin", pf->pin) != 0 ||
	    pinfile_hash(o, "duress", pf->duress) != 0)
		errf(err, errlen, "pin and duress must be Argon2id hashes");
	else
		rc = 0;
	json_decref(o);
	return rc;
}

int
pinfile_load(const char *path, struct pinfile *pf, char *err, size_t errlen)
{
	char why[256];
	size_t len;
	char *buf;
	int rc;

	if (!afile_exists(path))
		return 0;
	buf = keyfile_slurp(path, PINFILE_MAX, 1, &len, err, errlen);
	if (buf == NULL)
		return -1;
	rc = pinfile_parse(buf, len, pf, why, sizeof(why));
	free(buf);
	if (rc != 0) {
		errf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	return 1;
}

int
pinfile_write(const char *path, const char *pin, const char *duress, char *err,
    size_t errlen)
{
	char h1[crypto_pwhash_STRBYTES], h2[crypto_pwhash_STRBYTES];
	json_t *o;
	char *text;
	int rc;

	if (crypto_pwhash_str(h1, pin, strlen(pin),
	        crypto_pwhash_OPSLIMIT_INTERACTIVE,
	        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 ||
	    crypto_pwhash_str(h2, duress, strlen(duress),
	        crypto_pwhash_OPSLIMIT_INTERACTIVE,
	        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		errf(err, errlen, "out of memory hashing the PINs");
		return -1;
	}
	o = json_pack("{s:i, s:s, s:s}", "v", PINFILE_VERSION, "pin", h1,
	    "duress", h2);
	text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	if (text == NULL) {
		errf(err, errlen, "cannot encode the PIN file");
		return -1;
	}
	rc = afile_write(path, text, strlen(text), 0600, AFILE_REPLACE, err,
	    errlen);
	free(text);
	return rc;
}

enum pin_match
pinfile_check(const struct pinfile *pf, const char *pin)
{
	size_t n = strlen(pin);
	/* Both, always: the time says nothing about which one matched. */
	unsigned normal = crypto_pwhash_str_verify(pf->pin, pin, n) == 0;
	unsigned duress = crypto_pwhash_str_verify(pf->duress, pin, n) == 0;

	/* normal wins should both ever match (they are refused equal) */
	return (enum pin_match)(normal | ((duress & (normal ^ 1u)) << 1));
}
