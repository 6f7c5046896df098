/*
 * alertctl audit verify's checks, one record at a time, in the order
 * the records were written: numbers without gaps, each record linked to
 * the one before by its hash, one instance, every signed head's
 * signature good, and the log reaching the last signed head and the
 * last record that Redis remembers.  The first record that does not
 * verify is named by its number.
 */
#ifndef ALERTCTL_AUDIT_VERIFY_H
#define ALERTCTL_AUDIT_VERIFY_H

#include <stddef.h>

#include <sodium.h>

#include "audit_record.h"

struct audit_verify {
	const unsigned char *pk; /* NULL: signatures not checked */
	char instance[AUDIT_FIELD_MAX];
	long long n; /* records read */
	long long first, last; /* numbers of the first and last */
	char last_hash[AUDIT_HASH_HEX];
	long long broken; /* link to the record after this one broken */
	long long bad; /* the first record that does not verify; 0: none */
	char why[300];
	long long nsigned, last_signed; /* good signed heads */
	struct audit_record head; /* the last signed head Redis has */
	char *head_line;
	long long expect_last; /* the last record Redis has; 0: unknown */
};

/* head_line and last_line (from Redis; NULL when unknown) are copied. */
void audit_verify_init(struct audit_verify *v, const unsigned char *pk,
    const char *head_line, const char *last_line);
/* What Redis has, known before the first line (else the signed head's
 * own line cannot be held against it as it passes). */
void audit_verify_expect(struct audit_verify *v, const char *head_line,
    const char *last_line);
/* 0: go on; -1: v->bad and v->why say which record failed. */
int audit_verify_line(struct audit_verify *v, const char *line, size_t len);
/* After the last line: -1 when the log stops short or a link broke. */
int audit_verify_end(struct audit_verify *v);
void audit_verify_free(struct audit_verify *v);

#endif
