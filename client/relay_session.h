/*
 * One connection to one relay: resolve, connect, TLS 1.3, check the pin,
 * hello/auth/ready (docs/PROTOCOL.md), then an operation (struct
 * relay_op) sends its request and reads the answers: an alert and its
 * accepted, a cancel, a status, receipts.
 *
 * The session answers the relay's pings itself.  An operation that waits
 * long (receipts) asks for keepalive: a ping every RELAY_PING_S, and the
 * connection counts as dead after RELAY_DEAD_S without a frame.
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
#include "directory.h"
#include "log.h"

/* Longest silence the relay gets at each step before we try elsewhere. */
#define RELAY_STEP_TIMEOUT_S 10
/* While following an alert: ping this often, give up after this long
 * without any frame. */
#define RELAY_PING_S 15
#define RELAY_DEAD_S 45
/* Longest frame we take from a relay (a status with a long history). */
#define RELAY_FRAME_MAX DIRECTORY_FRAME_MAX

enum relay_result {
	RELAY_DONE, /* the operation ended; exit_code says how */
	RELAY_RETRY, /* this attempt failed; the same request may be resent */
	RELAY_FATAL, /* resending cannot help: with a code, at this relay
	                (relay_run.c asks the next); without, anywhere */
};

struct relay_outcome {
	enum relay_result result;
	int exit_code; /* DONE */
	int settled; /* the operation got as far as keepalive */
	char reason[512]; /* RETRY and FATAL */
	char
	    code[32]; /* the relay's error code, when an error frame ended it */
};

struct relay_session;

/* What is done over an authenticated session.  The same operation lives
 * on across the sessions of one run, so it can pick up where a lost
 * connection left it. */
struct relay_op {
	/* Authenticated: send the request (relay_session_send), then
	 * relay_session_expect() its answer or relay_session_keepalive(). */
	void (*ready)(struct relay_session *s, void *arg);
	/* Every later frame but ping and pong: answers, receipts, errors.
	 * Ends the session with relay_session_done() or _fail(). */
	void (*frame)(struct relay_session *s, const char *type,
	    const json_t *o, void *arg);
	/* The run gave up: logs why (a refusal, or the deadline passed). */
	void (*failed)(void *arg, int deadline, const char *why);
	void *arg;
	/* Optional: called at each keepalive ping, while waiting idle. */
	void (*idle)(struct relay_session *s, void *arg);
};

struct relay_session_params {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl_ctx;
	const struct client_relay *relay;
	size_t relay_no; /* its place in the configuration, from 0 */
	/* Copied at the start: the session checks the pins it began
	 * with, whatever a newer directory puts in their place meanwhile. */
	const char *const *pins;
	size_t npins;
	const char *device_id;
	const unsigned char *sk; /* Ed25519, crypto_sign_SECRETKEYBYTES */
	/* With an organisation key: the directory is checked after
	 * authentication (trust_accept); a newer one is applied to this
	 * configuration before the operation's ready(). */
	struct client_config *trust;
	const struct relay_op *op;
	int progress; /* steps on stdout (send), else debug log */
	void (*say)(void *arg, const char *line); /* steps, not stdout */
	void *say_arg;
	int ping_s, dead_s; /* keepalive; 0: RELAY_PING_S, RELAY_DEAD_S */
	void (*done)(const struct relay_outcome *, void *);
	void *arg;
};

struct relay_session *relay_session_start(
    const struct relay_session_params *params);
/* The relay's label from the configuration: "relay.example.nl:7443". */
const char *relay_session_label(const struct relay_session *s);
/* Its place among the configured relays (relay_session_params). */
size_t relay_session_relay_no(const struct relay_session *s);
/* 1 when the relay's hello listed feature ("checkin", "supervise"):
 * a relay of protocol revision 1 lists none. */
int relay_session_has(const struct relay_session *s, const char *feature);
/* What the session is waiting for, for messages: "waiting for hello". */
const char *relay_session_doing(const struct relay_session *s);
void relay_session_free(struct relay_session *s);

/* For operations. */
/* Sends one frame: 0; -1 when it is larger than the relay takes;
 * RELAY_SEND_ENDED when the session has ended (nothing is sent). */
#define RELAY_SEND_ENDED (-2)
int relay_session_send(struct relay_session *s, const json_t *frame);
/* Asks the relay to raise device.offline when this connection stays
 * silent longer than interval_s: -1 when the relay does not supervise
 * (the caller says what that means), else 0; a frame that cannot be sent
 * fails the session. */
int relay_session_supervise(struct relay_session *s, long interval_s);
/* A frame the operation did not take: an error ends the session
 * (relay_session_error), anything else is ignored. */
void relay_session_unhandled(struct relay_session *s, const char *type,
    const json_t *o);
/* The answer named what ("accepted") is due within RELAY_STEP_TIMEOUT_S. */
void relay_session_expect(struct relay_session *s, const char *what);
/* Waits for what ("receipts") as long as the relay is alive. */
void relay_session_keepalive(struct relay_session *s, const char *what);
void relay_session_done(struct relay_session *s, int exit_code);
void relay_session_fail(struct relay_session *s, enum relay_result result,
    const char *fmt, ...) PRINTFLIKE(3, 4);
/* An error frame: fatal for codes where a resend to this relay cannot
 * help, else a retry; either way the code is recorded in the outcome. */
void relay_session_error(struct relay_session *s, const json_t *o);
/* The request frame of type ("cancel", "watch") did not fit this
 * relay's max_frame (relay_session_send gave -1): fatal at this relay
 * with code RELAY_TOO_LARGE, as an error frame with that code would be,
 * so that the run asks the next relay. */
#define RELAY_TOO_LARGE "too_large"
void relay_session_too_large(struct relay_session *s, const char *type);
/* Asks for the state and receipts of alert_id (a "watch" frame): 0;
 * -1 when the session has ended, or when the frame is larger than this
 * relay takes, which ends the session as relay_session_too_large()
 * does: the run asks the next relay. */
int relay_session_watch(struct relay_session *s, const char *alert_id);
/* A frame the operation did not expect now: try again elsewhere. */
void relay_session_unexpected(struct relay_session *s, const char *type);

#endif
