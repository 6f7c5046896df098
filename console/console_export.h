/*
 * Export for the record (GET /api/export, after login): one alert
 * (?alert=ID) or every alert first received in a period (?from=&to=,
 * unix seconds), as JSON (the alerts opened, each with its timeline) or
 * CSV (one row per timeline entry), as a download.  CSV cells are
 * quoted (RFC 4180) and a cell a spreadsheet would read as a formula
 * (=, +, -, @, tab, CR first) gets a ' in front.  Each export is a
 * timeline row with the operator's name.
 *
 * The answer is sent in chunks (HTTP/1.1 chunked): CONSOLE_EXPORT_CHUNK
 * alerts opened and written per turn of the event loop, then a
 * zero-timeout event for the next, so an export of a month keeps the
 * queue, the event streams and the webhooks answering meanwhile.
 */
#ifndef ALERTCONSOLE_CONSOLE_EXPORT_H
#define ALERTCONSOLE_CONSOLE_EXPORT_H

#include <stddef.h>

#define CONSOLE_EXPORT_MAX 2000 /* alerts in one export */
#define CONSOLE_EXPORT_CHUNK 20 /* alerts opened per turn of the loop */

struct console;
struct console_export;
struct console_session;
struct event_base;
struct evhttp_request;

/* The exports under way (sent in chunks, console_export.c). */
struct console_export *console_export_new(struct event_base *base);
void console_export_free(struct console_export *x);

void console_export_request(struct console *c, struct evhttp_request *req,
    const struct console_session *s);

#endif
