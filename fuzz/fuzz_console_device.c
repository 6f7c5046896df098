/*
 * libFuzzer harness for alertconsole's device-cookie reader
 * (console_device_token_read, console/console_device.c): the input is a
 * Cookie header, read for one operator's name.  A device cookie is
 * taken exactly when the cookie of that operator's name holds
 * CONSOLE_DEVICE_HEX hex digits, and then its bytes are those digits.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "console_cookie.h"
#include "console_device.h"

/* Its cookie's name is alertconsole_device_31b2f79c87c6e89c (the seeds
 * in fuzz/corpus/console_device use it). */
#define FUZZ_NAME "Jan de Vries"

/* The value of the operator's cookie into value; 0 when there is one. */
static int
cookie(const char *header, char value[CONSOLE_DEVICE_HEX + 2])
{
	char cname[CONSOLE_DEVICE_NAME_MAX];

	console_device_cookie_name(FUZZ_NAME, cname);
	return console_cookie_value(header, cname, value,
	    CONSOLE_DEVICE_HEX + 2);
}

static int
all_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s))
			return 0;
	return 1;
}

static void
check(const char *header, const struct console_device_token *t)
{
	char value[CONSOLE_DEVICE_HEX + 2], hex[CONSOLE_DEVICE_HEX + 1];
	int found = cookie(header, value) == 0 &&
	    strlen(value) == CONSOLE_DEVICE_HEX && all_hex(value);
	size_t i;

	if (found != t->present)
		abort();
	if (!found)
		return;
	sodium_bin2hex(hex, sizeof(hex), t->raw, sizeof(t->raw));
	for (i = 0; i < CONSOLE_DEVICE_HEX; i++)
		if (tolower((unsigned char)value[i]) != hex[i])
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct console_device_token t;
	char *header = malloc(size + 1);

	if (sodium_init() < 0)
		abort();
	memcpy(header, data, size);
	header[size] = '\0';
	console_device_token_read(header, FUZZ_NAME, &t);
	check(header, &t);
	free(header);
	return 0;
}
