/*
 * One HTTP listener of the console: an evhttp on HOST:PORT, plain on a
 * loopback address, else only over TLS (and for the operators' page only
 * to clients with a certificate from a given CA).
 */
#ifndef ALERTCONSOLE_CONSOLE_LISTENER_H
#define ALERTCONSOLE_CONSOLE_LISTENER_H

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

struct console_listener {
	const char *name; /* the config key, for logs: "listen" */
	struct evhttp *http;
	SSL_CTX *ssl_ctx;
};

struct console_listener_tls {
	const char *cert, *key; /* NULL: plain HTTP */
	const char *client_ca; /* NULL: no client certificate asked */
	int need_client_ca; /* off loopback, client_ca is required */
};

/* Binds; -1 (logged) when the address is refused or unusable. */
int console_listener_open(struct console_listener *l, struct event_base *base,
    const char *listen, const struct console_listener_tls *tls,
    void (*cb)(struct evhttp_request *, void *), void *arg);
void console_listener_close(struct console_listener *l);

#endif
