/*
 * The console's listeners (console_listener.h).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "console_listener.h"
#include "hook.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define CONSOLE_LISTENER_MAX_HEADERS (16 * 1024)
#define CONSOLE_LISTENER_TIMEOUT_S 30 /* a slow or stalled client */

static struct bufferevent *
console_listener_bev(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* 127.0.0.0/8 and ::1: only this host can reach plain HTTP there. */
static int
console_listener_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* Off this host: TLS always, and a client certificate where the
 * listener shows alerts.  The certificate is the gate of the listener
 * (which machines may even ask for the login page); the operator's
 * account says which person it is (console_auth.c).  Both, so that a
 * guessed or phished password alone reaches nothing from outside. */
static int
console_listener_exposure(const struct console_listener *l, const char *listen,
    const char *host, const struct console_listener_tls *tls)
{
	if (console_listener_loopback(host))
		return 0;
	if (tls->cert == NULL ||
	    (tls->need_client_ca && tls->client_ca == NULL)) {
		log_warnx("%s = %s: not a loopback address; set %s", l->name,
		    listen,
		    tls->need_client_ca
		        ? "tls_cert, tls_key and tls_client_ca: the console "
		          "would show alerts to the network"
		        : "tls_cert and tls_key: webhooks would cross the "
		          "network in clear");
		return -1;
	}
	return 0;
}

static int
console_listener_tls(struct console_listener *l,
    const struct console_listener_tls *tls)
{
	char err[512];

	if (tls->cert == NULL)
		return 0;
	if ((l->ssl_ctx = tls_server_ctx(tls->cert, tls->key, err,
	         sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if (tls->client_ca == NULL)
		return 0;
	if (SSL_CTX_load_verify_locations(l->ssl_ctx, tls->client_ca, NULL) !=
	    1) {
		log_warnx("tls_client_ca %s: %s", tls->client_ca,
		    tls_error_string());
		return -1;
	}
	SSL_CTX_set_verify(l->ssl_ctx,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

static int
console_listener_bind(struct console_listener *l, struct event_base *base,
    const char *listen, const char *host, int port,
    void (*cb)(struct evhttp_request *, void *), void *arg)
{
	if ((l->http = evhttp_new(base)) == NULL)
		log_fatalx("cannot set up the HTTP server");
	evhttp_set_timeout(l->http, CONSOLE_LISTENER_TIMEOUT_S);
	/* A body announced beyond the limit is read and dropped, and refused
	 * (413) once it is all in, or cut at the guard's request deadline:
	 * the client then reads the 413 instead of a reset.  (Pages evhttp
	 * sends itself used to crash the process through libevent 2.1.12's
	 * filter bufferevent; that is fixed in http_guard.c for every
	 * listener, this flag is not what keeps it safe.) */
	evhttp_set_flags(l->http, EVHTTP_SERVER_LINGERING_CLOSE);
	/* The guard takes evhttp's bevcb and gencb: requests reach cb only
	 * whole and within the limits. */
	l->guard = console_guard_new(base, l->http, l->kind, l->limits,
	    l->ssl_ctx != NULL ? console_listener_bev : NULL, l->ssl_ctx, cb,
	    arg);
	http_guard_set_max_request(l->guard, CONSOLE_LISTENER_MAX_HEADERS,
	    HOOK_MAX_BODY);
	if (http_guard_bind(l->guard, host, port) == NULL) {
		log_warn("%s = %s: cannot listen", l->name, listen);
		return -1;
	}
	log_info("%s: listening on %s%s", l->name, listen,
	    l->ssl_ctx != NULL ? " (HTTPS)" : "");
	return 0;
}

int
console_listener_open(struct console_listener *l, struct event_base *base,
    const char *listen, const struct console_listener_tls *tls,
    void (*cb)(struct evhttp_request *, void *), void *arg)
{
	char *host = NULL;
	int port, rc = -1;

	if (hostport_parse(listen, &host, &port) != 0) {
		log_warnx("%s = %s: not HOST:PORT", l->name, listen);
		return -1;
	}
	if (console_listener_exposure(l, listen, host, tls) == 0 &&
	    console_listener_tls(l, tls) == 0)
		rc =
		    console_listener_bind(l, base, listen, host, port, cb, arg);
	free(host);
	return rc;
}

void
console_listener_close(struct console_listener *l)
{
	http_guard_free(l->guard);
	if (l->http != NULL)
		evhttp_free(l->http);
	l->guard = NULL;
	SSL_CTX_free(l->ssl_ctx);
	l->http = NULL;
	l->ssl_ctx = NULL;
}
