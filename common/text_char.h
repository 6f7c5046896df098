/*
 * The one rule for which characters of a text from someone else may be
 * shown to a person: alertctl and alertconsole apply it to what they
 * show (client/out.c), and the relay to a name it takes at intake (the
 * "by" of an acknowledgement), so that the relay never stores a name
 * its own tools then show as "?".
 */
#ifndef ALERTRELAY_TEXT_CHAR_H
#define ALERTRELAY_TEXT_CHAR_H

#include <stddef.h>

/* The character at p (not its end): its length in bytes, and in *bad
 * whether a terminal must not get it: a C0 control, DEL, a C1 control
 * (U+0080..U+009F), a bidi override or isolate (U+202A..U+202E,
 * U+2066..U+2069: they turn the text that follows around), or a byte
 * that does not start a UTF-8 character (its length 1: a stray
 * continuation byte, a truncated, overlong or surrogate form, beyond
 * U+10FFFF). */
size_t text_char(const char *p, int *bad);
/* 1 for 1 to max bytes, none a character text_char calls bad. */
int text_ok(const char *s, size_t max);
/* in into buf (len bytes, NUL included), every bad character a '?',
 * cut at a character's end; with quote, '"' and '\\' become '\'' too,
 * so that a name stays one value in a log line's key="...". */
char *text_clean(const char *in, char *buf, size_t len, int quote);

#endif
