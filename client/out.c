#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

char *
out_clean(const char *in, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0;

	if (len == 0)
		return buf;
	while (*p != '\0' && n + 1 < len) {
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080..U+009F, the C1 controls, in UTF-8 */
			buf[n++] = '?';
			p += 2;
			continue;
		}
		buf[n++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
		p++;
	}
	/* Never end inside a UTF-8 sequence. */
	if (*p != '\0')
		while (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
			n--;
	if (*p != '\0' && n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0xc0)
		n--;
	buf[n] = '\0';
	return buf;
}
