/*
 * libFuzzer harness for common/phone.c: phone numbers as people write
 * them (alertctl recipient add --sms, [recipient] sms in the relay's
 * configuration), made E.164 or refused.  What comes out must be E.164,
 * and normalising it again must give itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), out[PHONE_MAX], again[PHONE_MAX];
	enum phone_result r;
	size_t n;

	memcpy(in, data, size);
	in[size] = '\0';
	r = phone_normalise(in, out);
	if (r == PHONE_OK || r == PHONE_NORMALISED) {
		n = strlen(out);
		if (out[0] != '+' || n < 8 || n > 16 ||
		    strspn(out + 1, "0123456789") != n - 1 || out[1] == '0')
			abort();
		if (phone_normalise(out, again) != PHONE_OK ||
		    strcmp(out, again) != 0)
			abort();
	} else if (out[0] != '\0' || phone_problem(r)[0] == '\0')
		abort();
	free(in);
	return 0;
}
