/*
 * Counts by code, said in one line ("n=430 rate_limited=428 stale=2"):
 * what is counted rather than said one by one, an enrolled device's
 * refusals (conn_refuse.h) and the refused authentications of a source
 * (conn_authfail.h).  The first CODECOUNT_CODES codes are counted by
 * name, in the order they were named or first counted; the rest in all,
 * as "other".  Fixed size: whatever codes a peer makes us count.
 */
#ifndef ALERTRELAY_CODECOUNT_H
#define ALERTRELAY_CODECOUNT_H

#include <stddef.h>

#define CODECOUNT_CODES 3
#define CODECOUNT_CODE_MAX 24

/* All zero is empty. */
struct codecount {
	unsigned long n; /* in all */
	struct {
		char code[CODECOUNT_CODE_MAX];
		unsigned long n;
	} by_code[CODECOUNT_CODES];
	unsigned long other; /* of codes beyond those */
};

/* Gives code a place, counted 0, so that codes are said in the order
 * they were named. */
void codecount_name(struct codecount *cc, const char *code);
void codecount_add(struct codecount *cc, const char *code);
/* "TOTAL=n code=n ... other=n" (total names the sum; codes counted 0
 * and other at 0 left out) into buf. */
void codecount_format(const struct codecount *cc, const char *total, char *buf,
    size_t len);
void codecount_clear(struct codecount *cc);

#endif
