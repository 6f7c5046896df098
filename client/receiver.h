/*
 * The webhook endpoint: an evhttp server that hands each request to
 * hook_handle() and answers with its verdict.  Plain HTTP, or HTTPS
 * (TLS 1.3) when given a certificate.  Anyone on the network can
 * connect before any signature is checked, so the listener runs within
 * limits (http_guard.h): open connections, per address, a deadline for
 * the whole request; at the cap a newcomer takes the place of an
 * incomplete connection, so that the relay's webhook gets in however
 * many places others hold.  SIGINT and SIGTERM end it cleanly.
 */
#ifndef ALERTCTL_RECEIVER_H
#define ALERTCTL_RECEIVER_H

#include "hook.h"
#include "http_limits.h"

/* The defaults of alertctl receive's limits (alertctl(1)). */
#define RECEIVER_MAX_CONNS 128
#define RECEIVER_MAX_PER_ADDR 32
#define RECEIVER_CONN_RATE 50 /* new connections per address per s */
#define RECEIVER_CONN_BURST 200
#define RECEIVER_REQUEST_TIMEOUT 10 /* seconds, accept to whole request */

struct receiver_opts {
	const char *host;
	int port; /* 0: any free port (logged) */
	const char *path; /* NULL: any path */
	const char *tls_cert; /* NULL: plain HTTP */
	const char *tls_key;
	struct http_limits limits;
};

/* Runs until a signal; EXIT_OK, or EXIT_FAIL when it cannot start. */
int receiver_run(const struct receiver_opts *opts, struct hook_config *hook);

#endif
