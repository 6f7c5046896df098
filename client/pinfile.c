/*
 * The device's PIN file (pinfile.h): reading, parsing and writing its
 * Argon2id hashes, versions 1 and 2.
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
#define PINFILE_FORCED 2 /* changed with the duress PIN */

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

/* Version 2's fields beyond v, pin and duress: none (a clear under
 * duress) or both shown PINs (a set under duress). */
static int
pinfile_parse_forced(const json_t *o, struct pinfile *pf)
{
	size_t n = json_object_size(o);

	pf->forced = 1;
	if (n == 3)
		return 0;
	pf->shown = 1;
	if (n != 5 || pinfile_hash(o, "shown_pin", pf->shown_pin) != 0 ||
	    pinfile_hash(o, "shown_duress", pf->shown_duress) != 0)
		return -1;
	return 0;
}

int
pinfile_parse(const char *buf, size_t len, struct pinfile *pf, char *err,
    size_t errlen)
{
	json_t *o;
	json_int_t v;
	int rc = -1;

	memset(pf, 0, sizeof(*pf));
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	v = json_integer_value(json_object_get(o, "v"));
	if (!json_is_object(o))
		errf(err, errlen, "not a JSON object");
	else if (!json_is_integer(json_object_get(o, "v")) ||
	    (v != PINFILE_VERSION && v != PINFILE_FORCED))
		errf(err, errlen, "unknown version");
	else if (pinfile_hash(o, "pin", pf->pin) != 0 ||
	    pinfile_hash(o, "duress", pf->duress) != 0)
		errf(err, errlen, "pin and duress must be Argon2id hashes");
	else if (v == PINFILE_VERSION && json_object_size(o) != 3)
		errf(err, errlen, "expected v, pin and duress only");
	else if (v == PINFILE_FORCED && pinfile_parse_forced(o, pf) != 0)
		errf(err, errlen,
		    "expected v, pin, duress, and shown_pin and shown_duress "
		    "as Argon2id hashes or neither");
	else
		rc = 0;
	json_decref(o);
	if (rc != 0)
		sodium_memzero(pf, sizeof(*pf));
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
pinfile_hash_pin(char out[crypto_pwhash_STRBYTES], const char *pin)
{
	return crypto_pwhash_str(out, pin, strlen(pin),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

/* The file's JSON: version 1, or 2 with the shown PINs when there are. */
static json_t *
pinfile_json(const struct pinfile *pf)
{
	if (!pf->forced)
		return json_pack("{s:i, s:s, s:s}", "v", PINFILE_VERSION, "pin",
		    pf->pin, "duress", pf->duress);
	if (!pf->shown)
		return json_pack("{s:i, s:s, s:s}", "v", PINFILE_FORCED, "pin",
		    pf->pin, "duress", pf->duress);
	return json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", PINFILE_FORCED,
	    "pin", pf->pin, "duress", pf->duress, "shown_pin", pf->shown_pin,
	    "shown_duress", pf->shown_duress);
}

int
pinfile_store(const char *path, const struct pinfile *pf, char *err,
    size_t errlen)
{
	json_t *o = pinfile_json(pf);
	char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	int rc;

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

int
pinfile_write(const char *path, const char *pin, const char *duress, char *err,
    size_t errlen)
{
	struct pinfile pf;
	int rc;

	memset(&pf, 0, sizeof(pf));
	if (pinfile_hash_pin(pf.pin, pin) != 0 ||
	    pinfile_hash_pin(pf.duress, duress) != 0) {
		errf(err, errlen, "out of memory hashing the PINs");
		return -1;
	}
	rc = pinfile_store(path, &pf, err, errlen);
	sodium_memzero(&pf, sizeof(pf));
	return rc;
}

int
pinfile_shows_pins(const struct pinfile *pf)
{
	return !pf->forced || pf->shown;
}
