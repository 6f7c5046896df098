/* Which characters of a text may be shown to a person (text_char.h). */
#include <string.h>

#include "text_char.h"

/* The length of the UTF-8 character at p and its code point in *cp; 0
 * for none (a stray continuation byte, one missing, an overlong form, a
 * surrogate, beyond U+10FFFF). */
static size_t
text_utf8(const unsigned char *p, unsigned long *cp)
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
text_char(const char *p, int *bad)
{
	const unsigned char *u = (const unsigned char *)p;
	unsigned long cp;
	size_t n;

	if (u[0] < 0x80) {
		*bad = u[0] < 0x20 || u[0] == 0x7f;
		return 1;
	}
	if ((n = text_utf8(u, &cp)) == 0) {
		/* a raw 0x80..0x9f is a C1 control to a terminal not in
		 * UTF-8 */
		*bad = 1;
		return 1;
	}
	*bad = cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
	return n;
}

int
text_ok(const char *s, size_t max)
{
	size_t k, n = 0;
	int bad;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s += k, n += k) {
		k = text_char(s, &bad);
		if (bad || n + k > max)
			return 0;
	}
	return 1;
}

char *
text_clean(const char *in, char *buf, size_t len, int quote)
{
	size_t n = 0, k;
	int bad;

	if (len == 0)
		return buf;
	for (; *in != '\0'; in += k) {
		k = text_char(in, &bad);
		if (n + (bad ? 1 : k) >= len)
			break; /* never a character cut in two */
		if (bad)
			buf[n++] = '?';
		else if (quote && (*in == '"' || *in == '\\'))
			buf[n++] = '\'';
		else {
			memcpy(buf + n, in, k);
			n += k;
		}
	}
	buf[n] = '\0';
	return buf;
}
