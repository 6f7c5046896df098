/*
 * The webhook endpoint: an evhttp server that hands each request to
 * hook_handle() and answers with its verdict.  Plain HTTP, or HTTPS
 * (TLS 1.3) when given a certificate.  SIGINT and SIGTERM end it
 * cleanly.
 */
#ifndef ALERTCTL_RECEIVER_H
#define ALERTCTL_RECEIVER_H

#include "hook.h"

struct receiver_opts {
	const char *host;
	int port; /* 0: any free port (logged) */
	const char *path; /* NULL: any path */
	const char *tls_cert; /* NULL: plain HTTP */
	const char *tls_key;
};

/* Runs until a signal; EXIT_OK, or EXIT_FAIL when it cannot start. */
int receiver_run(const struct receiver_opts *opts, struct hook_config *hook);

#endif
