/* Phone numbers made E.164 (phone.h). */
#include <string.h>

#include "i18n.h"
#include "phone.h"

/* The digits of in, without the separators people put between them;
 * a leading '+' kept.  -1 on anything else. */
static int
phone_digits(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (strchr(" \t-.()/", *in) != NULL)
			continue;
		if ((*in == '+' && n == 0) || (*in >= '0' && *in <= '9')) {
			if (n + 1 >= len)
				return -1;
			out[n++] = *in;
			continue;
		}
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/* The digits after +31: 9, or 11 for the 097 numbers of machines. */
static int
phone_dutch_ok(const char *d)
{
	size_t n = strlen(d);

	return n == 9 || (n == 11 && strncmp(d, "97", 2) == 0);
}

enum phone_result
phone_normalise(const char *in, char out[PHONE_MAX])
{
	char d[64];
	size_t n;

	out[0] = '\0';
	if (phone_digits(in, d, sizeof(d)) != 0)
		return strlen(in) > 40 ? PHONE_BAD_LENGTH : PHONE_BAD_CHARS;
	if (strncmp(d, "00", 2) == 0) {
		memmove(d + 1, d + 2, strlen(d + 2) + 1);
		d[0] = '+';
	} else if (d[0] == '0') {
		/* Dutch national: 0 and 9 digits */
		if (!phone_dutch_ok(d + 1))
			return PHONE_BAD_DUTCH;
		memmove(d + 3, d + 1, strlen(d + 1) + 1);
		memcpy(d, "+31", 3);
	} else if (d[0] != '+')
		return PHONE_NO_COUNTRY;
	n = strlen(d + 1);
	if (d[1] < '1' || d[1] > '9' || n < 7 || n > 15)
		return PHONE_BAD_LENGTH;
	if (strncmp(d, "+31", 3) == 0 && !phone_dutch_ok(d + 3))
		return PHONE_BAD_DUTCH;
	memcpy(out, d, n + 2);
	return strcmp(out, in) == 0 ? PHONE_OK : PHONE_NORMALISED;
}

const char *
phone_problem(enum phone_result r)
{
	switch (r) {
	case PHONE_BAD_CHARS:
		return N_("a phone number has only digits, spaces and a "
		          "leading +");
	case PHONE_NO_COUNTRY:
		return N_("the country is missing: begin with + and the "
		          "country code, or 0 for a Dutch number");
	case PHONE_BAD_LENGTH:
		return N_("too few or too many digits for a phone number");
	case PHONE_BAD_DUTCH:
		return N_("a Dutch number has 10 digits (06 1234 5678), or 11 "
		          "after +31");
	default:
		return "";
	}
}
