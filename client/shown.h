/*
 * What `alertctl receive` has shown, remembered across restarts, so that
 * a genuine alert replayed later (with fresh, validly signed webhook
 * headers: anyone holding the webhook secret, or a relay in an
 * attacker's hands, can make those) is reported as a repeat, never as a
 * new alert.
 *
 * The file DIR/shown holds one key a line, oldest first, after the line
 * "alertrelay-shown 1".  Each key is appended and fsync'ed once the
 * alert is written out.  At most cap keys are kept: beyond that the
 * oldest is forgotten, and when the file holds twice as many lines it is
 * rewritten (atomically) with the newest cap.  A damaged file (a torn
 * last line after a crash, a bad header, lines that are no key) is
 * reported, kept aside as DIR/shown.corrupt, and what could be read from
 * it is kept.  DIR/shown.lock stops two receivers sharing the file.
 */
#ifndef ALERTCTL_SHOWN_H
#define ALERTCTL_SHOWN_H

#include <stddef.h>

#define SHOWN_CAP_DEFAULT 50000 /* a file of at most 4.6 MB */
#define SHOWN_CAP_MAX 1000000
#define SHOWN_KEY_MAX 64
#define SHOWN_FILE "shown"
#define SHOWN_HEADER "alertrelay-shown 1"

struct shown;

/* dir NULL: remembered in memory only, until exit.  NULL (logged) when
 * dir cannot be used (not creatable, or locked by another receiver). */
struct shown *shown_open(const char *dir, size_t cap);
int shown_has(const struct shown *s, const char *key);
/* Remembers key (durably, with a directory); -1 (logged) when it could
 * not be written down: it is still remembered until exit. */
int shown_add(struct shown *s, const char *key);
void shown_close(struct shown *s);

/* One line of the file (without its newline) is a key: "alert:ID",
 * "acknowledged:ID", "cancelled:ID" or "location:ID" with ID 32 lowercase
 * hex digits (an alert id; for a later position a hash, hook_key()).
 * Pure, for the loader and the fuzzer. */
int shown_key_valid(const char *line, size_t len);
/* The loader's core: every line of text that is a key is remembered,
 * oldest first; the count of lines that were not (a torn last line, or
 * with skip_header a first line that is not SHOWN_HEADER, included). */
size_t shown_load_text(struct shown *s, const char *text, size_t len,
    int skip_header);

#endif
