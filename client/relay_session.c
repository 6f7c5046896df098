/*
 * One connection to one relay: TLS 1.3, the pin, hello/auth/ready, an
 * operation (relay_session.h).
 */
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "i18n.h"
#include "b64.h"
#include "envelope.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "relay_session.h"
#include "tls.h"
#include "trust.h"
#include "xmalloc.h"

enum relay_state {
	RS_CONNECTING,
	RS_HELLO,
	RS_READY,
	RS_DIRECTORY, /* with an organisation key: checking the directory */
	RS_OP, /* authenticated: the operation's frames */
	RS_DONE,
};

struct relay_session {
	struct relay_session_params p;
	char pins[CLIENT_MAX_PINS][TLS_PIN_LEN]; /* p.pins points here */
	const char *pinv[CLIENT_MAX_PINS];
	struct bufferevent *bev;
	/* Step timeout (or, with keepalive, silence timeout), then the
	 * outcome report. */
	struct event *timer;
	struct event *ping; /* keepalive; NULL until asked for */
	enum relay_state state;
	int keepalive;
	char doing[64]; /* in RS_OP: "waiting for accepted" */
	size_t max_frame; /* the relay's, from hello */
	json_t *features; /* the relay's, from hello (revision 2), or NULL */
	unsigned char binding[AUTH_BINDING_BYTES];
	struct relay_outcome outcome;
};

/* Error codes after which sending the same request to the same relay
 * again cannot help.  Another relay may answer otherwise: the run asks
 * the next (relay_run.c). */
static const char *const relay_session_fatal_codes[] = {
    /* "auth_failed" and "unknown_device": told before this list */
    "revoked",
    "bad_signature",
    "bad_envelope",
    "unknown_recipient",
    "conflict",
    "unknown_alert",
};

static void relay_session_vfail(struct relay_session *s,
    enum relay_result result, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void relay_session_retry(struct relay_session *s, const char *fmt, ...)
    PRINTFLIKE(2, 3);

int
relay_session_has(const struct relay_session *s, const char *feature)
{
	size_t i;

	for (i = 0; i < json_array_size(s->features); i++)
		if (json_is_string(json_array_get(s->features, i)) &&
		    strcmp(json_string_value(json_array_get(s->features, i)),
		        feature) == 0)
			return 1;
	return 0;
}

const char *
relay_session_label(const struct relay_session *s)
{
	return s->p.relay->label;
}

size_t
relay_session_relay_no(const struct relay_session *s)
{
	return s->p.relay_no;
}

const char *
relay_session_doing(const struct relay_session *s)
{
	switch (s->state) {
	case RS_CONNECTING:
		return _("connecting");
	case RS_HELLO:
		return _("waiting for hello");
	case RS_READY:
		return _("waiting for ready");
	case RS_DIRECTORY:
		return _("waiting for the directory");
	case RS_OP:
		return s->doing;
	default:
		return _("done");
	}
}

static void
relay_session_arm(struct relay_session *s, long seconds)
{
	struct timeval tv = {seconds, 0};

	evtimer_add(s->timer, &tv);
}

static void relay_session_progress(struct relay_session *s, const char *fmt,
    ...) PRINTFLIKE(2, 3);

static void
relay_session_progress(struct relay_session *s, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->p.progress && s->p.say != NULL)
		s->p.say(s->p.say_arg, line);
	else if (s->p.progress)
		out_line("%s", line);
	else
		log_debug("%s: %s", s->p.relay->label, line);
}

/* Records the outcome, silences the connection and reports from the
 * timer, so that done() never runs inside a bufferevent callback. */
static void
relay_session_end(struct relay_session *s, enum relay_result result)
{
	s->state = RS_DONE;
	s->outcome.result = result;
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
	if (s->ping != NULL)
		event_del(s->ping);
	evtimer_del(s->timer);
	event_active(s->timer, EV_TIMEOUT, 0);
}

static void
relay_session_vfail(struct relay_session *s, enum relay_result result,
    const char *fmt, va_list ap)
{
	if (s->state == RS_DONE)
		return;
	vsnprintf(s->outcome.reason, sizeof(s->outcome.reason), fmt, ap);
	relay_session_end(s, result);
}

void
relay_session_fail(struct relay_session *s, enum relay_result result,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	relay_session_vfail(s, result, fmt, ap);
	va_end(ap);
}

static void
relay_session_retry(struct relay_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	relay_session_vfail(s, RELAY_RETRY, fmt, ap);
	va_end(ap);
}

void
relay_session_done(struct relay_session *s, int exit_code)
{
	if (s->state == RS_DONE)
		return;
	s->outcome.exit_code = exit_code;
	relay_session_end(s, RELAY_DONE);
}

static void
relay_session_timer(evutil_socket_t fd, short what, void *arg)
{
	struct relay_session *s = arg;

	(void)fd;
	(void)what;
	if (s->state == RS_DONE)
		s->p.done(&s->outcome, s->p.arg);
	else if (s->keepalive)
		relay_session_retry(s, _("no frame from relay for %d s (%s)"),
		    s->p.dead_s, relay_session_doing(s));
	else
		relay_session_retry(s, _("no answer from relay (%s)"),
		    relay_session_doing(s));
}

int
relay_session_send(struct relay_session *s, const json_t *frame)
{
	if (s->state == RS_DONE)
		return RELAY_SEND_ENDED;
	return frame_push(bufferevent_get_output(s->bev), frame, s->max_frame);
}

static int
relay_session_push(struct relay_session *s, json_t *frame)
{
	int rc;

	rc = relay_session_send(s, frame);
	json_decref(frame);
	return rc;
}

void
relay_session_expect(struct relay_session *s, const char *what)
{
	if (s->state == RS_DONE)
		return; /* the outcome report is due */
	snprintf(s->doing, sizeof(s->doing), _("waiting for %s"), what);
	s->keepalive = 0;
	if (s->ping != NULL)
		event_del(s->ping);
	relay_session_arm(s, RELAY_STEP_TIMEOUT_S);
}

static void
relay_session_ping(evutil_socket_t fd, short what, void *arg)
{
	struct relay_session *s = arg;

	(void)fd;
	(void)what;
	if (relay_session_push(s, json_pack("{s:s}", "type", "ping")) != 0)
		relay_session_retry(s, "cannot send ping");
	else if (s->p.op->idle != NULL)
		s->p.op->idle(s, s->p.op->arg);
}

void
relay_session_keepalive(struct relay_session *s, const char *what)
{
	struct timeval tv = {s->p.ping_s, 0};

	if (s->state == RS_DONE)
		return;
	snprintf(s->doing, sizeof(s->doing), _("waiting for %s"), what);
	s->keepalive = 1;
	s->outcome.settled = 1;
	if (s->ping == NULL &&
	    (s->ping = event_new(s->p.base, -1, EV_PERSIST, relay_session_ping,
	         s)) == NULL)
		log_fatalx("event_new failed");
	event_add(s->ping, &tv);
	relay_session_arm(s, s->p.dead_s);
}

static void
relay_session_hello(struct relay_session *s, const json_t *o)
{
	unsigned char challenge[AUTH_CHALLENGE_BYTES], sig[crypto_sign_BYTES];
	const char *c64 = json_str(o, "challenge");
	json_t *version = json_object_get(o, "version");
	json_t *maxf = json_object_get(o, "max_frame");
	char *sig64;
	int rc;

	if (!json_is_integer(version) || json_integer_value(version) != 1) {
		relay_session_retry(s,
		    "relay does not speak protocol version 1");
		return;
	}
	if (c64 == NULL ||
	    b64_decode_exact(c64, challenge, sizeof(challenge))) {
		relay_session_retry(s, "bad challenge in hello");
		return;
	}
	if (json_is_array(json_object_get(o, "features")))
		s->features = json_incref(json_object_get(o, "features"));
	if (json_is_integer(maxf) && json_integer_value(maxf) > 0 &&
	    json_integer_value(maxf) <= FRAME_MAX_LIMIT)
		s->max_frame = (size_t)json_integer_value(maxf);
	auth_sign(challenge, s->binding, s->p.sk, sig);
	sig64 = b64_encode(sig, sizeof(sig));
	rc = relay_session_push(s,
	    json_pack("{s:s, s:s, s:s}", "type", "auth", "device_id",
	        s->p.device_id, "sig", sig64));
	free(sig64);
	/* Only a max_frame too small for it stops the auth frame: this
	 * relay's limit, which another relay need not share. */
	if (rc != 0) {
		relay_session_retry(s,
		    _("cannot send auth: the relay's max_frame (%zu bytes) is "
		      "too small"),
		    s->max_frame);
		return;
	}
	s->state = RS_READY;
	relay_session_arm(s, RELAY_STEP_TIMEOUT_S);
}

static void
relay_session_op(struct relay_session *s)
{
	s->state = RS_OP;
	snprintf(s->doing, sizeof(s->doing), "%s", _("waiting for an answer"));
	s->p.op->ready(s, s->p.op->arg);
}

/* Nothing goes out before the directory checks out: an alert is sealed
 * only to keys the organisation signed. */
static void
relay_session_ask_directory(struct relay_session *s)
{
	if (relay_session_push(s,
	        json_pack("{s:s, s:I}", "type", "directory", "have",
	            (json_int_t)s->p.trust->dir_version)) != 0) {
		relay_session_retry(s, "cannot ask for the directory");
		return;
	}
	s->state = RS_DIRECTORY;
	relay_session_arm(s, RELAY_STEP_TIMEOUT_S);
}

static void
relay_session_directory(struct relay_session *s, const json_t *o)
{
	char err[512];

	if (trust_accept(s->p.trust, o, err, sizeof(err)) != 0) {
		log_warnx(_("REFUSED the directory from relay %s: %s"),
		    s->p.relay->label, err);
		log_warnx(_("relay %s may be compromised: nothing is sent "
		            "through it"),
		    s->p.relay->label);
		relay_session_retry(s, "directory refused: %s", err);
		return;
	}
	relay_session_op(s);
}

static void
relay_session_ready(struct relay_session *s, const json_t *o)
{
	const char *id = json_str(o, "device_id");
	char clean[ID_MAX + 1];

	if (id != NULL && strcmp(id, s->p.device_id) != 0) {
		relay_session_retry(s, "relay authenticated us as '%s'",
		    out_clean(id, clean, sizeof(clean)));
		return;
	}
	relay_session_progress(s, _(MSG_AUTHENTICATED), s->p.device_id);
	if (s->p.trust != NULL) {
		relay_session_ask_directory(s);
		return;
	}
	relay_session_op(s);
}

int
relay_session_supervise(struct relay_session *s, long interval_s)
{
	json_t *f;

	if (!relay_session_has(s, "supervise"))
		return -1;
	f = json_pack("{s:s, s:I}", "type", "supervise", "interval",
	    (json_int_t)interval_s);
	if (relay_session_send(s, f) != 0)
		relay_session_fail(s, RELAY_RETRY, "cannot send supervise");
	json_decref(f);
	return 0;
}

void
relay_session_unhandled(struct relay_session *s, const char *type,
    const json_t *o)
{
	char clean[33];

	if (strcmp(type, "error") == 0)
		relay_session_error(s, o);
	else
		log_debug("ignoring a %s frame",
		    out_clean(type, clean, sizeof(clean)));
}

void
relay_session_error(struct relay_session *s, const json_t *o)
{
	const char *code = json_str(o, "code"), *msg = json_str(o, "message");
	enum relay_result result = RELAY_RETRY;
	char ccode[64], cmsg[256];
	size_t i;

	if (code == NULL)
		code = "unknown";
	if (msg == NULL)
		msg = "";
	out_clean(code, s->outcome.code, sizeof(s->outcome.code));
	/* Nothing the device can do about it: said in plain words, for
	 * whoever keeps the organisation's directory. */
	if (strcmp(code, "directory_too_large") == 0) {
		relay_session_fail(s, RELAY_RETRY, "%s",
		    _("the relay cannot send the organisation's directory: it "
		      "is too large. Nothing can be sent through this relay "
		      "until the administrator makes it smaller"));
		return;
	}
	/* A relay answers an id it does not know as a wrong key, so as
	 * not to tell strangers which ids are enrolled (docs/PROTOCOL.md):
	 * to the person, either means a device the relay does not take. */
	if (strcmp(code, "auth_failed") == 0 ||
	    strcmp(code, "unknown_device") == 0) {
		relay_session_fail(s, RELAY_FATAL, _(MSG_WHY_DEVICE_REFUSED),
		    out_clean(code, ccode, sizeof(ccode)));
		return;
	}
	for (i = 0; i < sizeof(relay_session_fatal_codes) /
	         sizeof(relay_session_fatal_codes[0]);
	     i++)
		if (strcmp(code, relay_session_fatal_codes[i]) == 0)
			result = RELAY_FATAL;
	relay_session_fail(s, result, _("relay error %s: %s"),
	    out_clean(code, ccode, sizeof(ccode)),
	    out_clean(msg, cmsg, sizeof(cmsg)));
}

void
relay_session_too_large(struct relay_session *s, const char *type)
{
	char clean[33];

	if (s->state == RS_DONE)
		return;
	/* Told as an error frame with this code would be: this relay's
	 * word (relay_run.c), which another relay need not share. */
	snprintf(s->outcome.code, sizeof(s->outcome.code), "%s",
	    RELAY_TOO_LARGE);
	relay_session_fail(s, RELAY_FATAL,
	    _("%s: larger than this relay accepts (its max_frame is %zu "
	      "bytes)"),
	    out_clean(type, clean, sizeof(clean)), s->max_frame);
}

int
relay_session_watch(struct relay_session *s, const char *alert_id)
{
	json_t *f;
	int rc;

	f = json_pack("{s:s, s:s}", "type", "watch", "alert_id", alert_id);
	rc = relay_session_send(s, f);
	json_decref(f);
	if (rc == -1)
		relay_session_too_large(s, "watch");
	return rc == 0 ? 0 : -1;
}

void
relay_session_unexpected(struct relay_session *s, const char *type)
{
	char clean[33];

	relay_session_retry(s, "unexpected %s frame from relay (%s)",
	    out_clean(type, clean, sizeof(clean)), relay_session_doing(s));
}

static void
relay_session_frame(struct relay_session *s, const char *type, const json_t *o)
{
	log_debug("%s: got %s frame", s->p.relay->label, type);
	/* Any frame shows the relay is alive. */
	if (s->keepalive)
		relay_session_arm(s, s->p.dead_s);
	if (strcmp(type, "ping") == 0) {
		if (relay_session_push(s, json_pack("{s:s}", "type", "pong")))
			relay_session_retry(s, "cannot send pong");
	} else if (strcmp(type, "pong") == 0)
		; /* the answer to our keepalive */
	else if (s->state == RS_OP)
		s->p.op->frame(s, type, o, s->p.op->arg);
	else if (strcmp(type, "error") == 0)
		relay_session_error(s, o);
	else if (s->state == RS_HELLO && strcmp(type, "hello") == 0)
		relay_session_hello(s, o);
	else if (s->state == RS_READY && strcmp(type, "ready") == 0)
		relay_session_ready(s, o);
	else if (s->state == RS_DIRECTORY && strcmp(type, "directory") == 0)
		relay_session_directory(s, o);
	else
		relay_session_unexpected(s, type);
}

static void
relay_session_read(struct bufferevent *bev, void *arg)
{
	struct relay_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	enum frame_result r;
	const char *type;
	char *payload, err[256];
	size_t len;
	json_t *o;

	while (s->state != RS_DONE) {
		r = frame_pull(in, RELAY_FRAME_MAX, &payload, &len);
		if (r == FRAME_INCOMPLETE)
			return;
		if (r != FRAME_OK) {
			relay_session_retry(s, "relay sent a bad frame length");
			return;
		}
		o = frame_parse(payload, len, &type, err, sizeof(err));
		free(payload);
		if (o == NULL) {
			relay_session_retry(s, "relay sent a bad frame: %s",
			    err);
			return;
		}
		relay_session_frame(s, type, o);
		json_decref(o);
	}
}

/* TLS is up: nothing is sent before the relay's key matches a pin. */
static void
relay_session_connected(struct relay_session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	X509 *cert = SSL_get0_peer_certificate(ssl);
	char pin[TLS_PIN_LEN] = "none";

	if (SSL_version(ssl) != TLS1_3_VERSION) {
		relay_session_retry(s, "relay did not use TLS 1.3");
		return;
	}
	if (!tls_peer_matches_pin(ssl, s->p.pins, s->p.npins)) {
		if (cert != NULL)
			tls_pin_of_cert(cert, pin);
		relay_session_retry(s,
		    _("relay key does not match relay_pin (its pin is %s); "
		      "not sending anything"),
		    pin);
		return;
	}
	if (tls_auth_binding(ssl, s->binding) != 0) {
		relay_session_retry(s, "cannot export the TLS channel binding");
		return;
	}
	relay_session_progress(s, _(MSG_CONNECTED));
	s->state = RS_HELLO;
	relay_session_arm(s, RELAY_STEP_TIMEOUT_S);
}

/* Why the connection failed, as precisely as the layers tell us. */
static void
relay_session_failure(struct relay_session *s, int saved_errno, char *buf,
    size_t len)
{
	int dnserr = bufferevent_socket_get_dns_error(s->bev);
	unsigned long e, last = 0;

	while ((e = bufferevent_get_openssl_error(s->bev)) != 0)
		last = e;
	if (dnserr != 0)
		snprintf(buf, len, _("cannot resolve %s: %s"), s->p.relay->host,
		    evutil_gai_strerror(dnserr));
	else if (last != 0) {
		snprintf(buf, len, "TLS: ");
		ERR_error_string_n(last, buf + strlen(buf), len - strlen(buf));
	} else if (saved_errno != 0)
		snprintf(buf, len, "%s", strerror(saved_errno));
	else
		snprintf(buf, len, "%s", _("connection failed"));
	ERR_clear_error();
}

static int
relay_session_conn_errno(int e)
{
	return e == ECONNREFUSED || e == ECONNRESET || e == ETIMEDOUT ||
	    e == EHOSTUNREACH || e == ENETUNREACH || e == EPIPE;
}

static void
relay_session_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay_session *s = arg;
	int saved_errno = EVUTIL_SOCKET_ERROR();
	char why[256];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		relay_session_connected(s);
		return;
	}
	/* The TLS layer reports a refused or reset connection as EOF;
	 * errno still tells which. */
	if ((what & BEV_EVENT_EOF) && relay_session_conn_errno(saved_errno)) {
		relay_session_retry(s, "%s (%s)", strerror(saved_errno),
		    relay_session_doing(s));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		relay_session_retry(s, "connection closed by relay (%s)",
		    relay_session_doing(s));
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		relay_session_failure(s, saved_errno, why, sizeof(why));
		relay_session_retry(s, "%s (%s)", why, relay_session_doing(s));
	}
}

/* SNI for names; an address literal must not be sent as SNI. */
static void
relay_session_sni(SSL *ssl, const char *host)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1)
		SSL_set_tlsext_host_name(ssl, host);
}

/* The caller's pins may change under a session in progress (a newer
 * directory, trust.h): this one checks those it started with. */
static void
relay_session_pins(struct relay_session *s)
{
	size_t i;

	for (i = 0; i < s->p.npins && i < CLIENT_MAX_PINS; i++) {
		snprintf(s->pins[i], sizeof(s->pins[i]), "%s", s->p.pins[i]);
		s->pinv[i] = s->pins[i];
	}
	s->p.npins = i;
	s->p.pins = s->pinv;
}

struct relay_session *
relay_session_start(const struct relay_session_params *params)
{
	struct relay_session *s = xcalloc(1, sizeof(*s));
	SSL *ssl;

	s->p = *params;
	relay_session_pins(s);
	if (s->p.ping_s <= 0)
		s->p.ping_s = RELAY_PING_S;
	if (s->p.dead_s <= 0)
		s->p.dead_s = RELAY_DEAD_S;
	s->max_frame = FRAME_MAX_DEFAULT;
	s->timer = evtimer_new(s->p.base, relay_session_timer, s);
	if (s->timer == NULL || (ssl = SSL_new(s->p.ssl_ctx)) == NULL)
		log_fatalx("cannot set up a connection: out of memory");
	relay_session_sni(ssl, s->p.relay->host);
	s->bev = bufferevent_openssl_socket_new(s->p.base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		log_fatalx(_("cannot set up a TLS connection"));
	/* A relay that closes without close_notify is a closed
	 * connection, not a TLS error worth a different message. */
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, relay_session_read, NULL, relay_session_event,
	    s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	relay_session_arm(s, RELAY_STEP_TIMEOUT_S);
	if (bufferevent_socket_connect_hostname(s->bev, s->p.dns, AF_UNSPEC,
	        s->p.relay->host, s->p.relay->port) != 0)
		relay_session_retry(s, "cannot start connecting");
	return s;
}

void
relay_session_free(struct relay_session *s)
{
	SSL *ssl;

	if (s == NULL)
		return;
	if (s->outcome.result == RELAY_DONE && s->state == RS_DONE &&
	    (ssl = bufferevent_openssl_get_ssl(s->bev)) != NULL) {
		/* Best effort close_notify: the relay sees a clean end. */
		SSL_shutdown(ssl);
		ERR_clear_error();
	}
	json_decref(s->features);
	bufferevent_free(s->bev);
	event_free(s->timer);
	if (s->ping != NULL)
		event_free(s->ping);
	sodium_memzero(s->binding, sizeof(s->binding));
	free(s);
}
