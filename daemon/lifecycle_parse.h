/*
 * What the admin listener parses of GET /audit and POST /device/forget
 * (admin_lifecycle.c), as pure functions fuzzed by
 * fuzz/fuzz_admin_request.c: the query string of the one and the JSON
 * body of the other.
 */
#ifndef ALERTRELAY_LIFECYCLE_PARSE_H
#define ALERTRELAY_LIFECYCLE_PARSE_H

#include <stddef.h>

#include "util.h"

#define AUDIT_PAGE_DEFAULT 500
#define AUDIT_PAGE_MAX 1000
#define AUDIT_INSTANCE_MAX 200

/* GET /audit?instance=&after=&count= */
struct lifecycle_audit_args {
	char inst[AUDIT_INSTANCE_MAX + 1];
	char after[46]; /* a stream id: "-", "+" or [(]ms[-seq] */
	long count;
};

/* query (may be NULL) into *out, the instance defaulting to inst: 0, or
 * -1 when malformed or out of range. */
int lifecycle_parse_audit(const char *query, const char *inst,
    struct lifecycle_audit_args *out);

/* 1 when s is a stream id as Redis takes it in XRANGE. */
int lifecycle_stream_id_valid(const char *s);

/* {"device_id": ID, "by": NAME} into dev and by ("unnamed" without one):
 * 0, or -1 when malformed. */
int lifecycle_parse_forget(const char *body, size_t len, char dev[ID_MAX + 1],
    char by[ID_MAX + 1]);

#endif
