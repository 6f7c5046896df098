/*
 * Counts by code, in one line (codecount.h).
 */
#include <stdio.h>
#include <string.h>

#include "codecount.h"

/* code's counter, given a place if one is free; NULL if none. */
static unsigned long *
codecount_counter(struct codecount *cc, const char *code)
{
	size_t i;

	for (i = 0; i < CODECOUNT_CODES; i++) {
		if (cc->by_code[i].code[0] == '\0')
			snprintf(cc->by_code[i].code,
			    sizeof(cc->by_code[i].code), "%s", code);
		if (strcmp(cc->by_code[i].code, code) == 0)
			return &cc->by_code[i].n;
	}
	return NULL;
}

void
codecount_name(struct codecount *cc, const char *code)
{
	(void)codecount_counter(cc, code);
}

void
codecount_add(struct codecount *cc, const char *code)
{
	unsigned long *n = codecount_counter(cc, code);

	cc->n++;
	if (n != NULL)
		(*n)++;
	else
		cc->other++;
}

void
codecount_format(const struct codecount *cc, const char *total, char *buf,
    size_t len)
{
	size_t i, off;

	snprintf(buf, len, "%s=%lu", total, cc->n);
	for (i = 0; i < CODECOUNT_CODES && cc->by_code[i].code[0] != '\0';
	     i++) {
		if (cc->by_code[i].n == 0)
			continue;
		off = strlen(buf);
		snprintf(buf + off, len - off, " %s=%lu", cc->by_code[i].code,
		    cc->by_code[i].n);
	}
	off = strlen(buf);
	if (cc->other > 0)
		snprintf(buf + off, len - off, " other=%lu", cc->other);
}

void
codecount_clear(struct codecount *cc)
{
	memset(cc, 0, sizeof(*cc));
}
