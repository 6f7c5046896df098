/*
 * One attempt to hand an alert to one relay: resolve, connect, TLS 1.3,
 * check the pin, hello/auth/ready, alert, accepted (docs/PROTOCOL.md).
 *
 * The outcome is reported once, through done(), always from the event
 * loop and never from inside a bufferevent callback.  The owner frees the
 * session later, outside done().
 */
#ifndef ALERTCTL_RELAY_SESSION_H
#define ALERTCTL_RELAY_SESSION_H

#include <stddef.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "client_config.h"

/* Longest silence the relay gets at each step before we try elsewhere. */
#define RELAY_STEP_TIMEOUT_S 10
/* The relay's own frames are small. */
#define RELAY_FRAME_MAX 65536

enum relay_result {
	RELAY_ACCEPTED, /* stored durably by the relay */
	RELAY_RETRY, /* this attempt failed; the same envelope may be resent */
	RELAY_FATAL, /* resending cannot help */
};

struct relay_outcome {
	enum relay_result result;
	char reason[512]; /* RETRY and FATAL */
	char relay_id[128];
	int duplicate;
};

struct relay_session_params {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl_ctx;
	const struct client_relay *relay;
	const char *const *pins;
	size_t npins;
	const char *device_id;
	const unsigned char *sk; /* Ed25519, crypto_sign_SECRETKEYBYTES */
	const json_t *alert_frame;
	const char *alert_id;
	void (*done)(const struct relay_outcome *, void *);
	void *arg;
};

struct relay_session *relay_session_start(
    const struct relay_session_params *params);
/* What the session is waiting for, for messages: "waiting for hello". */
const char *relay_session_doing(const struct relay_session *s);
void relay_session_free(struct relay_session *s);

#endif
