/*
 * Export for the record (GET /api/export, after login): one alert
 * (?alert=ID, 404 when unknown) or every alert first received in a
 * period (?from=&to=, unix seconds, however many), as JSON (the alerts
 * opened, each with its timeline) or CSV (one row per timeline entry),
 * as a download.  HEAD answers the headers and opens nothing.  CSV cells are
 * quoted (RFC 4180) and a cell a spreadsheet would read as a formula
 * (=, +, -, @, tab, CR first) gets a ' in front.  Each export is a
 * timeline row with the operator's name.
 *
 * The answer is sent in chunks (HTTP/1.1 chunked): CONSOLE_EXPORT_CHUNK
 * alerts opened and written per turn of the event loop, then a
 * zero-timeout event for the next, so an export of a month keeps the
 * queue, the event streams and the webhooks answering meanwhile.  A
 * browser that stops reading stops the export (nothing more is opened
 * while CONSOLE_EXPORT_BACKLOG bytes wait for it); one that leaves, or
 * an export past export_timeout, ends it without its last chunk (the
 * browser sees the download fail), logged "export ended early".  At
 * most max_exports run at once; another gets 503 with Retry-After.
 */
#ifndef ALERTCONSOLE_CONSOLE_EXPORT_H
#define ALERTCONSOLE_CONSOLE_EXPORT_H

#include <stddef.h>

#define CONSOLE_EXPORT_CHUNK 20 /* alerts opened per turn of the loop */
/* Bytes not yet taken by the browser (http_guard_unsent) at which an
 * export stops opening alerts, and how long it waits then. */
#define CONSOLE_EXPORT_BACKLOG (256 * 1024)
#define CONSOLE_EXPORT_WAIT_MS 50
#define CONSOLE_EXPORT_RETRY_S "30" /* Retry-After when max_exports run */

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
