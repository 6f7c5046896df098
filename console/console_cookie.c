/*
 * The Cookie header and CSV cells (console_cookie.h).
 */
#include <string.h>

#include <event2/buffer.h>

#include "console_cookie.h"

int
console_cookie_value(const char *header, const char *name, char *out,
    size_t outlen)
{
	const char *p, *end;
	size_t klen = strlen(name), n;

	for (p = header; p != NULL && *p != '\0'; p = end) {
		p += strspn(p, " ;");
		end = p + strcspn(p, ";");
		if ((size_t)(end - p) > klen && strncmp(p, name, klen) == 0 &&
		    p[klen] == '=') {
			n = (size_t)(end - p) - klen - 1;
			if (n >= outlen)
				return -1;
			memcpy(out, p + klen + 1, n);
			out[n] = '\0';
			return 0;
		}
	}
	return -1;
}

/* A leading = + - @ (or a tab or CR, which some spreadsheets skip) would
 * make the cell a formula: a ' in front keeps it text. */
void
console_csv_cell(struct evbuffer *out, const char *text)
{
	const char *p, *q;

	evbuffer_add(out, "\"", 1);
	if (text[0] != '\0' && strchr("=+-@\t\r", text[0]) != NULL)
		evbuffer_add(out, "'", 1);
	for (p = text; (q = strchr(p, '"')) != NULL; p = q + 1) {
		evbuffer_add(out, p, (size_t)(q - p));
		evbuffer_add(out, "\"\"", 2);
	}
	evbuffer_add(out, p, strlen(p));
	evbuffer_add(out, "\"", 1);
}
