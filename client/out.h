/*
 * What the user asked for goes to stdout, one line at a time and flushed
 * at once, so a wrapper script sees progress as it happens.  Diagnostics
 * go through log.h instead.
 */
#ifndef ALERTCTL_OUT_H
#define ALERTCTL_OUT_H

#include <stddef.h>

#include <jansson.h>

#include "log.h"

int out_line(const char *fmt, ...) PRINTFLIKE(1, 2);
/* A JSON value as one compact line (jansson escapes control
 * characters). */
int out_json(const json_t *v);
/* text_char (common/text_char.h), the relay's rule for names too.
 * The character at p (not its end): its length in bytes, and in *bad
 * whether a terminal must not get it: a C0 control, DEL, a C1 control
 * (U+0080..U+009F), a bidi override or isolate (U+202A..U+202E,
 * U+2066..U+2069: they turn the text that follows around), or a byte
 * that does not start a UTF-8 character (its length 1). */
size_t out_char(const char *p, int *bad);
/* A string from the network made safe for a terminal or a log: each
 * character out_char calls bad becomes '?', cut to len - 1 bytes, never
 * inside a character.  Returns buf. */
char *out_clean(const char *in, char *buf, size_t len);
/* 1 for a name as the directory has them (directory_alias_valid: 1 to
 * DIRECTORY_ALIAS_MAX bytes) without a character out_char calls bad. */
int out_name_ok(const char *s);
/* s when out_name_ok, else "?": a name the relay gives (who took an
 * alarm, a device's alias) is shown whole or not at all, never cut to
 * some other name nor as a text of the relay's choosing. */
const char *out_name(const char *s);
/* The longest acknowledged_by a relay writes: "NAME (alias)", the name
 * an operator gave (ACK_BY_MAX, 64 bytes) and the recipient's alias or
 * id (64 bytes each at most). */
#define OUT_ACKED_BY_MAX (64 + 2 + 64 + 1)
/* s when it is 1 to OUT_ACKED_BY_MAX bytes with no character out_char
 * calls bad, else "?": who took an alarm, as the relay says, shown whole
 * or not at all. */
const char *out_acked_by(const char *s);

#endif
