/*
 * The two small text formats the console reads or writes by hand, as
 * pure functions (fuzz/fuzz_console_text.c drives them with any bytes):
 * a cookie's value from a request's Cookie header (RFC 6265
 * "name=value; name2=value2"), and one CSV cell (RFC 4180 quoting, and
 * a cell a spreadsheet would take as a formula made plain text).
 */
#ifndef ALERTCONSOLE_CONSOLE_COOKIE_H
#define ALERTCONSOLE_CONSOLE_COOKIE_H

#include <stddef.h>

struct evbuffer;

/* The value of cookie name in header (may be NULL) into out: 0 found
 * and shorter than outlen, else -1. */
int console_cookie_value(const char *header, const char *name, char *out,
    size_t outlen);

/* One CSV cell, quoted and neutralised, onto out. */
void console_csv_cell(struct evbuffer *out, const char *text);

#endif
