/*
 * Phone numbers as people write them, made E.164 for the relay: spaces,
 * dashes, dots and brackets go; "00" becomes "+"; a Dutch national
 * number ("06 1234 5678", "010-1234567") becomes "+31...".  A number of
 * a length no real one has is refused, with the reason.
 */
#ifndef ALERTRELAY_PHONE_H
#define ALERTRELAY_PHONE_H

#include <stddef.h>

#define PHONE_MAX 17 /* "+", 15 digits, NUL */
/* Shown with a refusal: what a valid number looks like. */
#define PHONE_EXAMPLE "+31612345678 (or 06 1234 5678)"

enum phone_result {
	PHONE_OK, /* already E.164 as written */
	PHONE_NORMALISED, /* out differs from what was written */
	PHONE_BAD_CHARS, /* letters or other signs */
	PHONE_NO_COUNTRY, /* digits without +, 00 or a Dutch 0 */
	PHONE_BAD_LENGTH, /* too short or too long for E.164 */
	PHONE_BAD_DUTCH, /* +31 with other than 9 digits after it */
};

enum phone_result phone_normalise(const char *in, char out[PHONE_MAX]);
/* What was wrong, in English (a msgid: translate with _()). */
const char *phone_problem(enum phone_result r);

#endif
