/*
 * Which Host the page listener answers: its own address ("127.0.0.1:8480",
 * "localhost"), the names of server_name, and the DNS names of its TLS
 * certificate.  Any other Host is a name someone pointed at this
 * address (DNS rebinding: a web page the operator has open elsewhere
 * that now resolves to the console) and gets 421, before a login is
 * tried or a page served.  Webhooks are not asked: their signatures
 * say who sent them, whatever name the relay used.
 */
#ifndef ALERTCONSOLE_HOST_H
#define ALERTCONSOLE_HOST_H

#include <stdint.h>

#include <event2/http.h>

#define CONSOLE_HOST_NAMES 32 /* server_name and certificate names */
#define CONSOLE_HOST_NAME_MAX 253

struct console_config;

struct console_hosts {
	char *name[CONSOLE_HOST_NAMES];
	size_t n;
	int64_t logged_ms; /* the last refusal logged */
};

/* server_name's value: host names separated by spaces; -1 when one is
 * not a host name or there are too many. */
int console_host_names_ok(const char *value);

/* The names of server_name and of tls_cert's subjectAltName (DNS);
 * -1 (logged) when the certificate cannot be read. */
int console_hosts_load(struct console_hosts *h,
    const struct console_config *cfg);
void console_hosts_free(struct console_hosts *h);

/* 0 when req's Host is one of them; else -1 (logged at most once in
 * 10 s), for the caller to answer 421.  It does not answer itself, so
 * that the configuration's checks link without the HTTP side (the
 * fuzz harness of alertconsole.conf). */
int console_host_check(struct console_hosts *h, struct evhttp_request *req);

#endif
