/*
 * libFuzzer harness for alertconsole's hand-read and hand-written text
 * (console/console_cookie.c): the input up to the first NUL is a Cookie
 * header, looked up under a fixed name; the rest is one CSV cell, whose
 * quoting is then undone and compared with what went in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "console_cookie.h"

static void
check_cookie(const char *header)
{
	char out[72];

	if (console_cookie_value(header, "alertconsole_session", out,
	        sizeof(out)) == 0 &&
	    (strlen(out) >= sizeof(out) || strchr(out, ';') != NULL))
		abort();
}

/* The cell is "..." with every " doubled and, for a formula, a ' first:
 * undone, it must give the text back. */
static void
check_cell(const char *text)
{
	struct evbuffer *b = evbuffer_new();
	size_t n, i, j = 0;
	char *cell, *back;

	console_csv_cell(b, text);
	n = evbuffer_get_length(b);
	cell = (char *)evbuffer_pullup(b, -1);
	if (n < 2 || cell[0] != '"' || cell[n - 1] != '"')
		abort();
	back = malloc(n);
	for (i = 1; i + 1 < n; i++) {
		if (cell[i] == '"') {
			if (cell[i + 1] != '"')
				abort(); /* an unescaped quote inside */
			i++;
		}
		back[j++] = cell[i];
	}
	back[j] = '\0';
	if (text[0] != '\0' && strchr("=+-@\t\r", text[0]) != NULL) {
		if (back[0] != '\'' || strcmp(back + 1, text) != 0)
			abort();
	} else if (strcmp(back, text) != 0)
		abort();
	free(back);
	evbuffer_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	size_t hlen;

	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	hlen = strlen(buf);
	check_cookie(buf);
	check_cell(hlen < size ? buf + hlen + 1 : "");
	free(buf);
	return 0;
}
