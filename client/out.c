#include <stdarg.h>
#include <stdio.h>

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
