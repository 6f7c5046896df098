/*
 * The characters an SMS carries, in GSM-7, and the checks on what goes
 * into them (numbers, references, UTF-8); the texts themselves are
 * sms_template.h's.
 * An SMS carries metadata only (the relay never holds alert content):
 * the device's alias, the alert type, the time, a short reference and
 * how to acknowledge.
 */
#ifndef ALERTRELAY_SMS_TEXT_H
#define ALERTRELAY_SMS_TEXT_H

#include <stddef.h>
#include <time.h>

#define SMS_CHARS_MAX 160 /* GSM-7 characters in one SMS */
#define SMS_TEXT_MAX 321 /* bytes: 160 of them in UTF-8 (at most 2 each) */
#define SMS_REF_MAX 16 /* a reference is 1..16 of [A-Za-z0-9] */

/* E.164: '+' and 8 to 15 digits. */
int sms_number_valid(const char *number);

/* A text sms_send() takes: valid UTF-8, no control characters, 1 to
 * SMS_TEXT_MAX - 1 bytes. */
int sms_text_valid(const char *text);
/* A reference: 1..SMS_REF_MAX of [A-Za-z0-9]; NULL is not one. */
int sms_text_ref_valid(const char *ref);

/* The helpers sms_template.c builds texts with. */
/* The code point at *s, advancing *s; -1 (one byte consumed) when the
 * UTF-8 there is malformed, overlong or a surrogate. */
long sms_text_utf8_next(const unsigned char **s);
/* The GSM-7 basic character for cp: cp itself, a stand-in, or '?'. */
long sms_text_gsm_char(long cp);
/* s in GSM-7 basic characters, UTF-8 encoded into out (2 * max + 1
 * bytes), at most max characters, trailing spaces dropped; s may be
 * NULL.  Returns the number of characters. */
size_t sms_text_gsm(const char *s, char *out, size_t max);
/* "HH:MM" of t in local time (TZ), "??:??" when it cannot be shown. */
void sms_text_hhmm(time_t t, char out[8]);
/* s upper-cased, anything but letters, digits, '-' and '_' as '?', at
 * most max characters into out (max + 1 bytes). */
size_t sms_text_word(const char *s, char *out, size_t max);

#endif
