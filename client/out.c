/*
 * alertctl's output (out.h): lines to stdout, and what comes from the
 * network made safe to show on a terminal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "out.h"

int
out_line(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vprintf(fmt, ap);
	va_end(ap);
	if (rc < 0 || putchar('\n') == EOF || fflush(stdout) == EOF)
		return -1;
	return 0;
}

int
out_json(const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc;

	if (text == NULL)
		return -1;
	rc = out_line("%s", text);
	free(text);
	return rc;
}

/* The length of the UTF-8 character at p and its code point in *cp; 0
 * for none (a stray continuation byte, one missing, an overlong form, a
 * surrogate, beyond U+10FFFF). */
static size_t
out_utf8(const unsigned char *p, unsigned long *cp)
{
	static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	*cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also the string's end */
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	if (*cp < least[n] || *cp > 0x10ffff ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

size_t
out_char(const char *p, int *bad)
{
	const unsigned char *u = (const unsigned char *)p;
	unsigned long cp;
	size_t n;

	if (u[0] < 0x80) {
		*bad = u[0] < 0x20 || u[0] == 0x7f;
		return 1;
	}
	if ((n = out_utf8(u, &cp)) == 0) {
		/* a raw 0x80..0x9f is a C1 control to a terminal not in
		 * UTF-8 */
		*bad = 1;
		return 1;
	}
	*bad = cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
	return n;
}

char *
out_clean(const char *in, char *buf, size_t len)
{
	size_t n = 0, k;
	int bad;

	if (len == 0)
		return buf;
	for (; *in != '\0'; in += k) {
		k = out_char(in, &bad);
		if (n + (bad ? 1 : k) >= len)
			break; /* never a character cut in two */
		if (bad)
			buf[n++] = '?';
		else {
			memcpy(buf + n, in, k);
			n += k;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* 1 for 1 to max bytes, none a character out_char calls bad (control
 * characters among them). */
static int
out_text_ok(const char *s, size_t max)
{
	size_t k, n = 0;
	int bad;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s += k, n += k) {
		k = out_char(s, &bad);
		if (bad || n + k > max)
			return 0;
	}
	return 1;
}

int
out_name_ok(const char *s)
{
	return out_text_ok(s, DIRECTORY_ALIAS_MAX);
}

const char *
out_name(const char *s)
{
	return s != NULL && out_name_ok(s) ? s : "?";
}

const char *
out_acked_by(const char *s)
{
	return s != NULL && out_text_ok(s, OUT_ACKED_BY_MAX) ? s : "?";
}
