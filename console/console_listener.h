/*
 * One HTTP listener of the console: an evhttp on HOST:PORT, plain on a
 * loopback address, else only over TLS (and for the operators' page only
 * to clients with a certificate from a given CA), within the limits of
 * console_guard.h.
 */
#ifndef ALERTCONSOLE_CONSOLE_LISTENER_H
#define ALERTCONSOLE_CONSOLE_LISTENER_H

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "console_guard.h"

struct console_listener {
	const char *name; /* the config key, for logs: "listen" */
	enum console_guard_kind kind; /* for the guard's counts and logs */
	const struct console_limits *limits;
	struct evhttp *http;
	struct http_guard *guard;
	SSL_CTX *ssl_ctx;
};

struct console_listener_tls {
	const char *cert, *key; /* NULL: plain HTTP */
	const char *client_ca; /* NULL: no client certificate asked */
	int need_client_ca; /* off loopback, client_ca is required */
};

/* Binds; -1 (logged) when the address is refused or unusable.  name,
 * kind and limits are set by the caller. */
int console_listener_open(struct console_listener *l, struct event_base *base,
    const char *listen, const struct console_listener_tls *tls,
    void (*cb)(struct evhttp_request *, void *), void *arg);
void console_listener_close(struct console_listener *l);

#endif
