/*
 * The audit record's line: built and parsed with jansson (sorted keys,
 * compact), hashed with SHA-256 and the signed heads made and checked
 * with Ed25519, both from libsodium.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_record.h"
#include "b64.h"

#define AUDIT_SIGN_CTX "alertrelay-audit-head-v1"

const char audit_record_genesis[AUDIT_HASH_HEX] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const struct {
	const char *key;
	size_t off;
	size_t len;
	int required;
} audit_fields[] = {
#define F(k, req)                                                              \
	{                                                                      \
#k, offsetof(struct audit_record, k),                          \
		    sizeof(((struct audit_record *)0)->k), req                 \
	}
    F(time, 1),
    F(instance, 1),
    F(action, 1),
    F(object, 1),
    F(result, 1),
    F(address, 0),
    F(channel, 0),
    F(actor, 1),
    F(reason, 0),
    F(prev, 1),
    F(sig, 0),
#undef F
};
#define AUDIT_NFIELDS (sizeof(audit_fields) / sizeof(audit_fields[0]))

char *
audit_record_line(const struct audit_record *r)
{
	json_t *o = json_object();
	char *line;
	size_t i;

	json_object_set_new(o, "v", json_integer(AUDIT_VERSION));
	json_object_set_new(o, "seq", json_integer(r->seq));
	for (i = 0; i < AUDIT_NFIELDS; i++) {
		const char *v = (const char *)r + audit_fields[i].off;

		if (v[0] != '\0' || audit_fields[i].required)
			json_object_set_new(o, audit_fields[i].key,
			    json_string(v));
	}
	line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (line != NULL && strlen(line) > AUDIT_LINE_MAX) {
		free(line);
		return NULL;
	}
	return line;
}

static int
audit_hex_valid(const char *s)
{
	size_t i;

	for (i = 0; i < AUDIT_HASH_HEX - 1; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

int
audit_record_parse(const char *line, size_t len, struct audit_record *r,
    const char **why)
{
	json_error_t jerr;
	json_t *o, *v;
	size_t i, n = 0;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	*why = "not a JSON object";
	if (len > AUDIT_LINE_MAX)
		return (*why = "record too long", -1);
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o))
		goto out;
	*why = "unknown version";
	if (json_integer_value(json_object_get(o, "v")) != AUDIT_VERSION)
		goto out;
	*why = "bad seq";
	v = json_object_get(o, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		goto out;
	r->seq = json_integer_value(v);
	for (i = 0; i < AUDIT_NFIELDS; i++) {
		char *dst = (char *)r + audit_fields[i].off;

		v = json_object_get(o, audit_fields[i].key);
		if (v == NULL && !audit_fields[i].required)
			continue;
		*why = "missing or bad field";
		if (!json_is_string(v) ||
		    json_string_length(v) >= audit_fields[i].len ||
		    strlen(json_string_value(v)) != json_string_length(v))
			goto out;
		memcpy(dst, json_string_value(v), json_string_length(v) + 1);
		n++;
	}
	*why = "unknown field";
	if (json_object_size(o) != n + 2)
		goto out;
	*why = "bad prev";
	if (!audit_hex_valid(r->prev))
		goto out;
	*why = "signature in the wrong record";
	if ((r->sig[0] != '\0') != (strcmp(r->action, AUDIT_SIGNED) == 0))
		goto out;
	*why = NULL;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

void
audit_record_hash(const char *line, size_t len, char out[AUDIT_HASH_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)line, len);
	sodium_bin2hex(out, AUDIT_HASH_HEX, h, sizeof(h));
}

size_t
audit_record_sign_input(const struct audit_record *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s\n%s\n%lld\n%s", AUDIT_SIGN_CTX,
	    r->instance, r->seq - 1, r->prev);

	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

int
audit_record_check_sig(const struct audit_record *r,
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	unsigned char sig[crypto_sign_BYTES];
	char msg[AUDIT_FIELD_MAX + 160];
	size_t n = audit_record_sign_input(r, msg, sizeof(msg));

	if (n == 0 || b64_decode_exact(r->sig, sig, sizeof(sig)) != 0)
		return -1;
	return crypto_sign_verify_detached(sig, (const unsigned char *)msg, n,
	    pk);
}

int
audit_record_sign(struct audit_record *r,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
	unsigned char sig[crypto_sign_BYTES];
	char msg[AUDIT_FIELD_MAX + 160], *b64;
	size_t n = audit_record_sign_input(r, msg, sizeof(msg));

	if (n == 0 ||
	    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, n,
	        sk) != 0)
		return -1;
	b64 = b64_encode(sig, sizeof(sig));
	snprintf(r->sig, sizeof(r->sig), "%s", b64);
	free(b64);
	return 0;
}
