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
#include "text_char.h"

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

/* The rule is the relay's too, which refuses a name at intake that
 * these functions would show as "?" (common/text_char.c). */
size_t
out_char(const char *p, int *bad)
{
	return text_char(p, bad);
}

char *
out_clean(const char *in, char *buf, size_t len)
{
	return text_clean(in, buf, len, 0);
}

int
out_name_ok(const char *s)
{
	return directory_alias_valid(s);
}

const char *
out_name(const char *s)
{
	return s != NULL && out_name_ok(s) ? s : "?";
}

const char *
out_acked_by(const char *s)
{
	return s != NULL && text_ok(s, OUT_ACKED_BY_MAX) ? s : "?";
}
