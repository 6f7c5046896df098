/*
 * Enrollment bundles: written by the administrator's `device add` and
 * `device rotate`, read by the official's `enroll`.
 */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "b64.h"
#include "bundle.h"
#include "directory.h"
#include "keyfile.h"
#include "log.h"
#include "seckey.h"
#include "tls.h"
#include "xmalloc.h"

static void
bundle_free_wiped(void *p)
{
	if (p != NULL) {
		sodium_memzero(p, malloc_usable_size(p));
		free(p);
	}
}

/* jansson copies the key's text into buffers of its own (the parser's,
 * the string's, the dump's) and frees them without wiping.  From the
 * first bundle on, everything it frees is wiped: alertctl runs one
 * command and exits, so the cost is small and bounded.  Switching at
 * any time is safe: the memory still comes from malloc and goes back
 * to free. */
static void
bundle_wipe_jansson(void)
{
	json_set_alloc_funcs(malloc, bundle_free_wiped);
}

/* Text we made or read that held the key. */
static void
bundle_wipe_text(char *text, size_t len)
{
	if (text != NULL) {
		sodium_memzero(text, len);
		free(text);
	}
}

int
bundle_write(const char *path, const struct bundle *b, enum afile_how how,
    char *err, size_t errlen)
{
	char *sk64, *org64, *text, *line;
	size_t n;
	json_t *root;
	int rc;

	bundle_wipe_jansson();
	sk64 = b64_encode(b->sk, crypto_sign_SECRETKEYBYTES);
	org64 = b64_encode(b->org_pk, sizeof(b->org_pk));
	root = json_pack("{s:i, s:s, s:s, s:s, s:O, s:O, s:s}",
	    "alertrelay_enrollment", BUNDLE_FORMAT, "device_id", b->device_id,
	    "alias", b->alias, "device_key", sk64, "relays", b->relays,
	    "relay_pins", b->pins, "org_key", org64);
	bundle_wipe_text(sk64, strlen(sk64));
	free(org64);
	if (root != NULL && b->directory != NULL &&
	    json_object_set_new(root, "directory", json_string(b->directory)) !=
	        0)
		log_fatalx("bundle: the directory is not text");
	if (root == NULL || (text = json_dumps(root, JSON_INDENT(1))) == NULL)
		log_fatalx("bundle: cannot build the JSON");
	json_decref(root);
	n = strlen(text);
	line = xmalloc(n + 1);
	memcpy(line, text, n);
	line[n] = '\n';
	rc = afile_write(path, line, n + 1, 0600, how, err, errlen);
	bundle_wipe_text(line, n + 1);
	bundle_wipe_text(text, n);
	return rc;
}

/* A non-empty array of at most max strings that pass valid(). */
static int
bundle_strings(const json_t *arr, size_t max, int (*valid)(const char *))
{
	const json_t *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > max)
		return -1;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || !valid(json_string_value(v)))
			return -1;
	}
	return 0;
}

static int
bundle_key(const json_t *root, struct bundle *b, const char *path, char *err,
    size_t errlen)
{
	const char *s = json_string_value(json_object_get(root, "device_key"));

	b->sk = seckey_alloc(crypto_sign_SECRETKEYBYTES);
	if (s == NULL ||
	    b64_decode_exact(s, b->sk, crypto_sign_SECRETKEYBYTES) != 0)
		return errf(err, errlen,
		    "%s: device_key is not a base64 Ed25519 secret key of %d "
		    "bytes",
		    path, crypto_sign_SECRETKEYBYTES);
	if (!seckey_ed25519_valid(b->sk))
		return errf(err, errlen,
		    "%s: device_key is damaged: its public half does not "
		    "belong to its secret half",
		    path);
	return 0;
}

/* Optional (bundles made before it was carried have none), but when it
 * is there it must be the organisation's. */
static int
bundle_directory(const json_t *root, struct bundle *b, const char *path,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, "directory");
	struct directory d;
	char why[512];

	b->dir_version = -1;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return errf(err, errlen, "%s: directory is not text", path);
	if (directory_verify(json_string_value(v), json_string_length(v),
	        b->org_pk, &d, why, sizeof(why)) != 0)
		return errf(err, errlen, "%s: the directory it carries: %s",
		    path, why);
	b->dir_version = d.version;
	b->directory = xstrdup(d.signed_text);
	directory_free(&d);
	return 0;
}

static int
bundle_check(const json_t *root, struct bundle *b, const char *path, char *err,
    size_t errlen)
{
	const char *id = json_string_value(json_object_get(root, "device_id"));
	const char *alias = json_string_value(json_object_get(root, "alias"));
	const char *org = json_string_value(json_object_get(root, "org_key"));

	if (json_integer_value(json_object_get(root,
	        "alertrelay_enrollment")) != BUNDLE_FORMAT)
		return errf(err, errlen,
		    "%s: not an enrollment bundle (alertrelay_enrollment %d)",
		    path, BUNDLE_FORMAT);
	if (id == NULL || !id_valid(id))
		return errf(err, errlen,
		    "%s: device_id is not 1-64 of A-Z a-z 0-9 . _ -", path);
	snprintf(b->device_id, sizeof(b->device_id), "%s", id);
	if (alias == NULL || !directory_alias_valid(alias))
		return errf(err, errlen,
		    "%s: alias is not 1-%d bytes without control characters, "
		    "bidi overrides or isolates",
		    path, DIRECTORY_ALIAS_MAX);
	b->alias = xstrdup(alias);
	if (bundle_key(root, b, path, err, errlen) != 0)
		return -1;
	b->relays = json_incref(json_object_get(root, "relays"));
	b->pins = json_incref(json_object_get(root, "relay_pins"));
	if (bundle_strings(b->relays, DIRECTORY_MAX_RELAYS,
	        bundle_relay_valid) != 0)
		return errf(err, errlen,
		    "%s: relays must list 1 to %d host:port", path,
		    DIRECTORY_MAX_RELAYS);
	if (bundle_strings(b->pins, DIRECTORY_MAX_PINS, bundle_pin_valid) != 0)
		return errf(err, errlen,
		    "%s: relay_pins must list 1 to %d pins as alertctl pin "
		    "prints them",
		    path, DIRECTORY_MAX_PINS);
	if (org == NULL ||
	    b64_decode_exact(org, b->org_pk, sizeof(b->org_pk)) != 0)
		return errf(err, errlen,
		    "%s: org_key is not a base64 Ed25519 public key", path);
	return bundle_directory(root, b, path, err, errlen);
}

int
bundle_parse(const char *text, size_t len, const char *name, struct bundle *b,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	memset(b, 0, sizeof(*b));
	bundle_wipe_jansson();
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root))
		errf(err, errlen, "%s: not JSON: %s", name, jerr.text);
	else
		rc = bundle_check(root, b, name, err, errlen);
	json_decref(root);
	if (rc != 0)
		bundle_free(b);
	return rc;
}

int
bundle_read(const char *path, struct bundle *b, char *err, size_t errlen)
{
	size_t len;
	char *text;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((text = keyfile_slurp(path, BUNDLE_MAX_BYTES, 1, &len, err,
	         errlen)) == NULL)
		return -1;
	rc = bundle_parse(text, len, path, b, err, errlen);
	bundle_wipe_text(text, len);
	return rc;
}

int
bundle_set_directory(const char *path, const char *signed_text, char *err,
    size_t errlen)
{
	struct directory d;
	struct bundle b;
	char why[512];
	int rc = -1;

	if (bundle_read(path, &b, err, errlen) != 0)
		return -1;
	if (directory_verify(signed_text, strlen(signed_text), b.org_pk, &d,
	        why, sizeof(why)) != 0)
		errf(err, errlen, "%s: the directory: %s", path, why);
	else if (b.dir_version >= d.version)
		rc = 0;
	else {
		free(b.directory);
		b.directory = xstrdup(d.signed_text);
		b.dir_version = d.version;
		rc = bundle_write(path, &b, AFILE_REPLACE, err, errlen) == 0
		    ? 1
		    : -1;
	}
	directory_free(&d);
	bundle_free(&b);
	return rc;
}

void
bundle_free(struct bundle *b)
{
	free(b->alias);
	seckey_free(b->sk);
	json_decref(b->relays);
	json_decref(b->pins);
	free(b->directory);
	memset(b, 0, sizeof(*b));
}

int
bundle_relay_valid(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                         "0123456789.-_:[]";
	char *host;
	int port;

	/* Nothing a configuration line or a log line could trip on. */
	if (strlen(s) > 255 || s[strspn(s, ok)] != '\0')
		return 0;
	if (hostport_parse(s, &host, &port) != 0)
		return 0;
	free(host);
	return 1;
}

int
bundle_pin_valid(const char *s)
{
	unsigned char hash[32];

	return strlen(s) < TLS_PIN_LEN &&
	    b64_decode_exact(s, hash, sizeof(hash)) == 0;
}
