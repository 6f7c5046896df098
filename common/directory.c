/*
 * The signed directory: parsing, checking and signing (docs/DIRECTORY.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "b64.h"
#include "directory.h"
#include "text_char.h"
#include "envelope.h"
#include "keyfile.h"
#include "log.h"
#include "xmalloc.h"

int
directory_alias_valid(const char *s)
{
	return text_ok(s, DIRECTORY_ALIAS_MAX);
}

/* An alias in a directory being read: the rule of before (1 to
 * DIRECTORY_ALIAS_MAX bytes, no C0 control, no DEL), so that a signed
 * directory made before directory_alias_valid held bidi overrides and
 * C1 controls out still loads (a relay that would not start on it
 * serves no alert at all); its tools show such an alias as "?". */
static int
dir_alias_readable(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > DIRECTORY_ALIAS_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* E.164: "+", then 7 to 15 digits, not starting with 0. */
static int
dir_sms_valid(const char *s)
{
	size_t n;

	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	n = strspn(s + 1, "0123456789");
	return s[1 + n] == '\0' && n >= 7 && n <= 15;
}

static int
dir_url_valid(const char *s)
{
	return (strncmp(s, "https://", 8) == 0 && s[8] != '\0') ||
	    (strncmp(s, "http://", 7) == 0 && s[7] != '\0');
}

static int
dir_key(const json_t *o, const char *name, unsigned char *out, size_t len)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL && b64_decode_exact(s, out, len) == 0 ? 0 : -1;
}

/* An optional string member: NULL when absent, -1 when not a string. */
static int
dir_opt_string(const json_t *o, const char *name, const char **out)
{
	const json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int
dir_common(const json_t *o, const char *what, size_t i, char *id, char **alias,
    char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(o, "id"));
	const char *a = json_string_value(json_object_get(o, "alias"));

	if (!json_is_object(o))
		return errf(err, errlen, "%s %zu is not an object", what, i);
	if (s == NULL || !id_valid(s))
		return errf(err, errlen, "%s %zu: bad or missing id", what, i);
	snprintf(id, ID_MAX + 1, "%s", s);
	if (a == NULL || !dir_alias_readable(a))
		return errf(err, errlen,
		    "%s %s: alias must be 1..%d printable characters", what, s,
		    DIRECTORY_ALIAS_MAX);
	*alias = xstrdup(a);
	return 0;
}

static int
dir_retired(const json_t *arr, struct dir_device *dev, char *err, size_t errlen)
{
	size_t i;
	json_t *k;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > DIRECTORY_MAX_RETIRED)
		return errf(err, errlen,
		    "device %s: retired_keys must be a list of at most %d",
		    dev->id, DIRECTORY_MAX_RETIRED);
	dev->retired = xcalloc(json_array_size(arr) + 1, sizeof(*dev->retired));
	json_array_foreach(arr, i, k)
	{
		struct dir_retired_key *r = &dev->retired[dev->nretired];
		const char *until =
		    json_string_value(json_object_get(k, "until"));

		if (dir_key(k, "public_key", r->pk, sizeof(r->pk)) != 0 ||
		    until == NULL || time_rfc3339_parse(until, &r->until) != 0)
			return errf(err, errlen,
			    "device %s: retired key %zu needs public_key and "
			    "until",
			    dev->id, i);
		dev->nretired++;
	}
	return 0;
}

static int
dir_device(const json_t *o, size_t i, struct dir_device *dev, char *err,
    size_t errlen)
{
	const char *status;

	if (dir_common(o, "device", i, dev->id, &dev->alias, err, errlen) != 0)
		return -1;
	if (dir_key(o, "public_key", dev->pk, sizeof(dev->pk)) != 0)
		return errf(err, errlen,
		    "device %s: public_key must be a base64 Ed25519 key",
		    dev->id);
	status = json_string_value(json_object_get(o, "status"));
	if (status == NULL ||
	    (strcmp(status, "active") != 0 && strcmp(status, "revoked") != 0))
		return errf(err, errlen,
		    "device %s: status must be active or revoked", dev->id);
	dev->revoked = strcmp(status, "revoked") == 0;
	if (json_object_get(o, "box_key") != NULL) {
		if (dir_key(o, "box_key", dev->box_pk, sizeof(dev->box_pk)) !=
		    0)
			return errf(err, errlen,
			    "device %s: box_key must be a base64 X25519 key",
			    dev->id);
		dev->has_box = 1;
	}
	return dir_retired(json_object_get(o, "retired_keys"), dev, err,
	    errlen);
}

static int
dir_recipient(const json_t *o, size_t i, struct dir_recipient *r, char *err,
    size_t errlen)
{
	const json_t *ch;
	const char *webhook, *sms;

	if (dir_common(o, "recipient", i, r->id, &r->alias, err, errlen) != 0)
		return -1;
	if (dir_key(o, "public_key", r->pk, sizeof(r->pk)) != 0)
		return errf(err, errlen,
		    "recipient %s: public_key must be a base64 X25519 key",
		    r->id);
	if (json_object_get(o, "sign_key") != NULL) {
		if (dir_key(o, "sign_key", r->sign_pk, sizeof(r->sign_pk)) != 0)
			return errf(err, errlen,
			    "recipient %s: sign_key must be a base64 Ed25519 "
			    "key",
			    r->id);
		r->has_sign = 1;
	}
	ch = json_object_get(o, "channels");
	if (!json_is_object(ch) || dir_opt_string(ch, "webhook", &webhook) ||
	    dir_opt_string(ch, "sms", &sms))
		return errf(err, errlen,
		    "recipient %s: channels must be an object of strings",
		    r->id);
	if (webhook != NULL && !dir_url_valid(webhook))
		return errf(err, errlen,
		    "recipient %s: the webhook is not an http(s) URL", r->id);
	if (sms != NULL && !dir_sms_valid(sms))
		return errf(err, errlen,
		    "recipient %s: sms must be an E.164 number", r->id);
	r->webhook = webhook != NULL ? xstrdup(webhook) : NULL;
	r->sms = sms != NULL ? xstrdup(sms) : NULL;
	return 0;
}

static int
dir_strings(const json_t *arr, const char *what, char **out, size_t max,
    size_t *n, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > max)
		return errf(err, errlen, "%s must be a list of at most %zu",
		    what, max);
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);

		if (s == NULL || *s == '\0' || strlen(s) > 255)
			return errf(err, errlen, "%s %zu is not a string", what,
			    i);
		out[(*n)++] = xstrdup(s);
	}
	return 0;
}

static int
dir_device_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dir_device *)a)->id,
	    ((const struct dir_device *)b)->id);
}

static int
dir_recipient_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dir_recipient *)a)->id,
	    ((const struct dir_recipient *)b)->id);
}

static int
dir_entries(const json_t *root, struct directory *d, char *err, size_t errlen)
{
	const json_t *devs = json_object_get(root, "devices");
	const json_t *rcps = json_object_get(root, "recipients");
	size_t i;
	json_t *v;

	if (!json_is_array(devs) || !json_is_array(rcps))
		return errf(err, errlen,
		    "devices and recipients must be lists");
	if (json_array_size(rcps) > ENVELOPE_MAX_RECIPIENTS)
		return errf(err, errlen, "more than %d recipients",
		    ENVELOPE_MAX_RECIPIENTS);
	d->devices = xcalloc(json_array_size(devs) + 1, sizeof(*d->devices));
	json_array_foreach(devs, i, v)
	{
		if (dir_device(v, i, &d->devices[d->ndevices++], err, errlen) !=
		    0)
			return -1;
	}
	d->recipients =
	    xcalloc(json_array_size(rcps) + 1, sizeof(*d->recipients));
	json_array_foreach(rcps, i, v)
	{
		if (dir_recipient(v, i, &d->recipients[d->nrecipients++], err,
		        errlen) != 0)
			return -1;
	}
	return 0;
}

static int
dir_unique(const struct directory *d, char *err, size_t errlen)
{
	size_t i;

	for (i = 1; i < d->ndevices; i++)
		if (strcmp(d->devices[i - 1].id, d->devices[i].id) == 0)
			return errf(err, errlen, "device %s is listed twice",
			    d->devices[i].id);
	for (i = 1; i < d->nrecipients; i++)
		if (strcmp(d->recipients[i - 1].id, d->recipients[i].id) == 0)
			return errf(err, errlen, "recipient %s is listed twice",
			    d->recipients[i].id);
	return 0;
}

static int
dir_header(const json_t *root, struct directory *d, char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, "version");
	const char *issued =
	    json_string_value(json_object_get(root, "issued_at"));

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > DIRECTORY_VERSION_MAX)
		return errf(err, errlen, "version must be a whole number >= 0");
	d->version = json_integer_value(v);
	if (issued != NULL && time_rfc3339_parse(issued, &d->issued_at) != 0)
		return errf(err, errlen, "issued_at is not an RFC 3339 time");
	if (dir_strings(json_object_get(root, "relays"), "relays", d->relays,
	        DIRECTORY_MAX_RELAYS, &d->nrelays, err, errlen) != 0 ||
	    dir_strings(json_object_get(root, "relay_pins"), "relay_pins",
	        d->pins, DIRECTORY_MAX_PINS, &d->npins, err, errlen) != 0)
		return -1;
	return 0;
}

int
directory_parse(const char *json, size_t len, struct directory *d, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		errf(err, errlen, "not a JSON object: %s", jerr.text);
		goto out;
	}
	if (dir_header(root, d, err, errlen) != 0 ||
	    dir_entries(root, d, err, errlen) != 0)
		goto out;
	qsort(d->devices, d->ndevices, sizeof(*d->devices), dir_device_cmp);
	qsort(d->recipients, d->nrecipients, sizeof(*d->recipients),
	    dir_recipient_cmp);
	rc = dir_unique(d, err, errlen);
out:
	json_decref(root);
	if (rc != 0)
		directory_free(d);
	return rc;
}

/* The payload bytes of a signed file whose signature checks out. */
static int
dir_signed_payload(const char *text, size_t len,
    const unsigned char org_pk[crypto_sign_PUBLICKEYBYTES],
    unsigned char **payload, size_t *plen, char *err, size_t errlen)
{
	unsigned char sig[crypto_sign_BYTES];
	const char *p64, *s64;
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	*payload = NULL;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	p64 = json_string_value(json_object_get(root, "payload"));
	s64 = json_string_value(json_object_get(root, "signature"));
	if (!json_is_object(root) ||
	    json_integer_value(json_object_get(root, "alertrelay_directory")) !=
	        DIRECTORY_FORMAT ||
	    p64 == NULL || s64 == NULL)
		errf(err, errlen, "not a signed directory (format %d)",
		    DIRECTORY_FORMAT);
	else if (b64_decode_exact(s64, sig, sizeof(sig)) != 0 ||
	    b64_decode(p64, strlen(p64), payload, plen) != 0)
		errf(err, errlen, "bad base64 in the signed directory");
	else if (sig_verify_ctx(SIGCTX_DIRECTORY, *payload, *plen, sig,
	             org_pk) != 0)
		errf(err, errlen,
		    "the signature does not verify with the organisation key");
	else
		rc = 0;
	json_decref(root);
	if (rc != 0) {
		free(*payload);
		*payload = NULL;
	}
	return rc;
}

int
directory_verify(const char *text, size_t len,
    const unsigned char org_pk[crypto_sign_PUBLICKEYBYTES], struct directory *d,
    char *err, size_t errlen)
{
	unsigned char *payload;
	size_t plen;
	int rc;

	memset(d, 0, sizeof(*d));
	if (len > DIRECTORY_MAX_BYTES)
		return errf(err, errlen, "larger than %d bytes",
		    DIRECTORY_MAX_BYTES);
	if (dir_signed_payload(text, len, org_pk, &payload, &plen, err,
	        errlen) != 0)
		return -1;
	rc = directory_parse((const char *)payload, plen, d, err, errlen);
	if (rc == 0) {
		crypto_generichash(d->payload_hash, sizeof(d->payload_hash),
		    payload, plen, NULL, 0);
		d->signed_text = xmalloc(len + 1);
		memcpy(d->signed_text, text, len);
		d->signed_text[len] = '\0';
		d->signed_len = len;
	}
	free(payload);
	return rc;
}

int
directory_load(const char *path,
    const unsigned char org_pk[crypto_sign_PUBLICKEYBYTES], struct directory *d,
    char *err, size_t errlen)
{
	char *text, why[256];
	size_t len;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((text = keyfile_slurp(path, DIRECTORY_MAX_BYTES, 0, &len, err,
	         errlen)) == NULL)
		return -1;
	rc = directory_verify(text, len, org_pk, d, why, sizeof(why));
	if (rc != 0)
		errf(err, errlen, "%s: %s", path, why);
	free(text);
	return rc;
}

char *
directory_sign(const char *payload, size_t len,
    const unsigned char org_sk[crypto_sign_SECRETKEYBYTES])
{
	unsigned char sig[crypto_sign_BYTES];
	char *p64, *s64, *text;
	json_t *root;

	sig_sign_ctx(SIGCTX_DIRECTORY, payload, len, org_sk, sig);
	p64 = b64_encode(payload, len);
	s64 = b64_encode(sig, sizeof(sig));
	root = json_pack("{s:i, s:s, s:s}", "alertrelay_directory",
	    DIRECTORY_FORMAT, "payload", p64, "signature", s64);
	text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	free(p64);
	free(s64);
	if (text == NULL)
		log_fatalx("out of memory");
	return text;
}

void
directory_free(struct directory *d)
{
	size_t i;

	for (i = 0; i < d->nrelays; i++)
		free(d->relays[i]);
	for (i = 0; i < d->npins; i++)
		free(d->pins[i]);
	for (i = 0; i < d->ndevices; i++) {
		free(d->devices[i].alias);
		free(d->devices[i].retired);
	}
	for (i = 0; i < d->nrecipients; i++) {
		free(d->recipients[i].alias);
		free(d->recipients[i].webhook);
		free(d->recipients[i].sms);
	}
	free(d->devices);
	free(d->recipients);
	free(d->signed_text);
	memset(d, 0, sizeof(*d));
}

int
directory_successor(const struct directory *cur, const struct directory *next,
    char *err, size_t errlen)
{
	if (next->version < cur->version)
		return errf(err, errlen,
		    "directory version %lld is older than version %lld in use "
		    "(a rollback)",
		    next->version, cur->version);
	if (next->version == cur->version &&
	    sodium_memcmp(next->payload_hash, cur->payload_hash,
	        sizeof(cur->payload_hash)) != 0)
		return errf(err, errlen,
		    "directory version %lld differs from the version %lld in "
		    "use: every change needs a new version",
		    next->version, cur->version);
	return 0;
}

const struct dir_device *
directory_device(const struct directory *d, const char *id)
{
	struct dir_device key;

	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, d->devices, d->ndevices, sizeof(*d->devices),
	    dir_device_cmp);
}

const struct dir_recipient *
directory_recipient(const struct directory *d, const char *id)
{
	struct dir_recipient key;

	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, d->recipients, d->nrecipients,
	    sizeof(*d->recipients), dir_recipient_cmp);
}

int
dir_device_verify_envelope(const struct dir_device *dev, const char *json,
    size_t len, const unsigned char sig[crypto_sign_BYTES], time_t created_at)
{
	size_t i;

	if (envelope_verify(json, len, sig, dev->pk) == 0)
		return 0;
	for (i = 0; i < dev->nretired; i++)
		if (created_at <= dev->retired[i].until &&
		    envelope_verify(json, len, sig, dev->retired[i].pk) == 0)
			return 0;
	return -1;
}
