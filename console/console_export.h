/*
 * Export for the record (GET /api/export, after login): one alert
 * (?alert=ID) or every alert first received in a period (?from=&to=,
 * unix seconds), as JSON (the alerts opened, each with its timeline) or
 * CSV (one row per timeline entry), as a download.  CSV cells are
 * quoted (RFC 4180) and a cell a spreadsheet would read as a formula
 * (=, +, -, @, tab, CR first) gets a ' in front.  Each export is a
 * timeline row with the operator's name.
 */
#ifndef ALERTCONSOLE_CONSOLE_EXPORT_H
#define ALERTCONSOLE_CONSOLE_EXPORT_H

#include <stddef.h>

#define CONSOLE_EXPORT_MAX 2000 /* alerts in one export */

struct console;
struct console_session;
struct evhttp_request;

void console_export_request(struct console *c, struct evhttp_request *req,
    const struct console_session *s);

#endif
