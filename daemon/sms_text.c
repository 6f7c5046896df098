/*
 * The characters of SMS messages: the GSM-7 basic set, so that one SMS
 * holds 160 of them, and the checks on numbers, references and texts
 * before they are sent.  What the texts say is sms_template.c's.
 * (sms_number_valid keeps the name it had before the gateway drivers
 * moved to files of their own.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sms_text.h"

int
sms_number_valid(const char *number)
{
	size_t n;

	if (number == NULL || number[0] != '+' || number[1] < '1' ||
	    number[1] > '9')
		return 0;
	n = strlen(number + 1);
	return n >= 8 && n <= 15 && strspn(number + 1, "0123456789") == n;
}

/* The GSM 03.38 basic set outside ASCII (ESC, LF and CR left out). */
static const uint16_t sms_gsm_extra[] = {0x00a3, 0x00a5, 0x00e8, 0x00e9, 0x00f9,
    0x00ec, 0x00f2, 0x00c7, 0x00d8, 0x00f8, 0x00c5, 0x00e5, 0x0394, 0x03a6,
    0x0393, 0x039b, 0x03a9, 0x03a0, 0x03a8, 0x03a3, 0x0398, 0x039e, 0x00c6,
    0x00e6, 0x00df, 0x00c9, 0x00a4, 0x00a1, 0x00c4, 0x00d6, 0x00d1, 0x00dc,
    0x00a7, 0x00bf, 0x00e4, 0x00f6, 0x00f1, 0x00fc, 0x00e0};

/* U+00C0..U+00FF not in the set: the letter without its accent. */
static const char sms_latin1_fold[] = "AAAAAAACEEEEIIIIDNOOOOO?OUUUUY?s"
                                      "aaaaaaaceeeeiiiidnooooo?ouuuuy?y";

/* The code point at *s, advancing *s; -1 (one byte consumed) when the
 * UTF-8 there is malformed, overlong or a surrogate. */
long
sms_text_utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	long cp, min;
	int n, i;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 1;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 2;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 3;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		*s = p + 1;
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s = p + 1;
			return -1;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*s = p + n + 1;
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return cp;
}

int
sms_text_valid(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text);

	if (n == 0 || n >= SMS_TEXT_MAX)
		return 0;
	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f || sms_text_utf8_next(&p) < 0)
			return 0;
	}
	return 1;
}

/* The GSM-7 basic character for cp: cp itself, a stand-in, or '?'. */
long
sms_text_gsm_char(long cp)
{
	size_t i;

	if (cp >= 0x20 && cp < 0x7f)
		return strchr("[\\]^`{|}~", (int)cp) != NULL ? '?' : cp;
	for (i = 0; i < sizeof(sms_gsm_extra) / sizeof(sms_gsm_extra[0]); i++)
		if (sms_gsm_extra[i] == cp)
			return cp;
	if (cp >= 0xc0 && cp <= 0xff)
		return sms_latin1_fold[cp - 0xc0];
	switch (cp) {
	case 0x00a0: /* no-break space */
		return ' ';
	case 0x2018:
	case 0x2019:
		return '\'';
	case 0x201c:
	case 0x201d:
		return '"';
	case 0x2013:
	case 0x2014:
		return '-';
	}
	return '?';
}

/* s in GSM-7 basic characters, UTF-8 encoded into out (2 * max + 1
 * bytes), at most max characters, trailing spaces dropped.  Returns the
 * number of characters. */
size_t
sms_text_gsm(const char *s, char *out, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0, len = 0, lastword = 0, lastchars = 0;
	long cp;

	while (s != NULL && *p != '\0' && chars < max) {
		cp = sms_text_gsm_char(sms_text_utf8_next(&p));
		if (cp < 0x80)
			out[len++] = (char)cp;
		else {
			out[len++] = (char)(0xc0 | (cp >> 6));
			out[len++] = (char)(0x80 | (cp & 0x3f));
		}
		chars++;
		if (cp != ' ') {
			lastword = len;
			lastchars = chars;
		}
	}
	out[lastword] = '\0';
	return lastchars;
}

int
sms_text_ref_valid(const char *ref)
{
	static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "abcdefghijklmnopqrstuvwxyz";
	size_t n;

	if (ref == NULL)
		return 0;
	n = strlen(ref);
	return n >= 1 && n <= SMS_REF_MAX && strspn(ref, alnum) == n;
}

void
sms_text_hhmm(time_t t, char out[8])
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(out, 8, "%H:%M", &tm) != 5)
		snprintf(out, 8, "??:??");
}

/* The upper-cased word of a type or event, for the start of a text. */
size_t
sms_text_word(const char *s, char *out, size_t max)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i < max; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			out[i] = (char)(s[i] - 'a' + 'A');
		else if ((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_')
			out[i] = s[i];
		else
			out[i] = '?';
	}
	out[i] = '\0';
	return i;
}
