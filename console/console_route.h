/*
 * The page listener's API: which requests need a session, which must
 * also come from the console's own page with its CSRF token, and the
 * handler of each.  Static files and webhooks are console_http.c's.
 */
#ifndef ALERTCONSOLE_CONSOLE_ROUTE_H
#define ALERTCONSOLE_CONSOLE_ROUTE_H

struct console;
struct evhttp_request;

/* path starts with "/api/". */
void console_route_api(struct console *c, struct evhttp_request *req,
    const char *path);

#endif
