/*
 * One record of the relay's audit log (docs/PRIVACY.md, alertrelayd(8)
 * AUDIT LOG): a single line of compact JSON with sorted keys, built by
 * the relay and read back by `alertctl audit`.  Each record names the
 * SHA-256 of the previous record's line ("prev"), so the records of one
 * relay instance form a chain; every N records the relay adds a record
 * "audit.signed" whose Ed25519 signature covers the instance, the
 * number and the hash of the record before it (the signed head).
 *
 * A record never holds alert content or a secret: only what happened
 * (action, object, result), where it came from (address, channel), who
 * did it (actor), when, and a short reason from the relay's own words.
 */
#ifndef ALERTRELAY_AUDIT_RECORD_H
#define ALERTRELAY_AUDIT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define AUDIT_VERSION 1
#define AUDIT_HASH_HEX (crypto_hash_sha256_BYTES * 2 + 1)
#define AUDIT_LINE_MAX 4096 /* a record longer than this is refused */
#define AUDIT_FIELD_MAX 256 /* each text field is cut to this */
#define AUDIT_SIGNED "audit.signed"

struct audit_record {
	long long seq; /* 1, 2, ... in one instance's chain */
	char time[40]; /* RFC 3339, UTC, milliseconds */
	char instance[AUDIT_FIELD_MAX];
	char action[AUDIT_FIELD_MAX];
	char object[AUDIT_FIELD_MAX];
	char result[AUDIT_FIELD_MAX];
	char address[AUDIT_FIELD_MAX];
	char channel[AUDIT_FIELD_MAX];
	char actor[AUDIT_FIELD_MAX];
	char reason[AUDIT_FIELD_MAX];
	char prev[AUDIT_HASH_HEX]; /* hex SHA-256 of the previous line */
	char sig[128]; /* base64 Ed25519, only in audit.signed records */
};

/* The line of r (no newline), to free(); NULL if it cannot be built. */
char *audit_record_line(const struct audit_record *r);

/* Parses one line (without its newline).  0 on success; -1 with why set
 * to a static reason when it is not a well-formed record. */
int audit_record_parse(const char *line, size_t len, struct audit_record *r,
    const char **why);

/* Hex SHA-256 of a line, as the next record's "prev". */
void audit_record_hash(const char *line, size_t len, char out[AUDIT_HASH_HEX]);

/* "prev" of the first record of a chain. */
extern const char audit_record_genesis[AUDIT_HASH_HEX];

/* The bytes an audit.signed record signs: the instance, the number of
 * the record it follows and that record's hash.  Returns the length
 * written to buf (at most len), or 0 if it does not fit. */
size_t audit_record_sign_input(const struct audit_record *r, char *buf,
    size_t len);

/* 0 if r (an audit.signed record) carries a good signature by pk. */
int audit_record_check_sig(const struct audit_record *r,
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

/* Signs r (an audit.signed record whose seq, instance and prev are set)
 * with sk into r->sig. */
int audit_record_sign(struct audit_record *r,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES]);

#endif
