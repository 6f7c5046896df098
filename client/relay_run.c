/*
 * One run of an operation over the configured relays, with backoff and a
 * deadline (relay_run.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <sodium.h>

#include "i18n.h"
#include "alertctl.h"
#include "evtimer_ms.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "relay_run.h"
#include "tls.h"
#include "xmalloc.h"

struct relay_run {
	/* Its directory-derived parts follow each newer directory a
	 * session verifies (trust.h): each attempt reads them anew. */
	struct client_config *cfg;
	const unsigned char *sk;
	const struct relay_op *op;
	int progress;
	int ping_s, dead_s;

	struct event_base *base;
	struct evdns_base *dns;
	int own_dns; /* else the client's (relay_run_shared) */
	SSL_CTX *ssl_ctx; /* a reference of its own */
	struct event *retry; /* next attempt */
	struct event *deadline;
	struct relay_session *session;
	const struct client_relay *relay; /* of session */
	size_t next; /* relay to try next */
	size_t tried; /* attempts in this round */
	unsigned said_by; /* relays (bits) that refused this run for good */
	int persist; /* relay_run_persist(): never ends on a refusal */
	void (*refused)(void *arg, const char *why); /* relay_run_on_refused */
	void *refused_arg;
	long backoff_ms;
	char last_reason[768];
	char last_code[32];
	int exit_code;
	unsigned long attempts; /* relay_run_attempt_no() */
	int reported; /* session gave its outcome */
	/* On a caller's loop (relay_run_new_on): told once, from an event
	 * of its own, so that ended() may free the run. */
	int own_base;
	int stopped;
	struct event *end;
	void (*ended)(int exit_code, void *arg);
	void *ended_arg;
	void (*say)(void *arg, const char *line);
	void *say_arg;
};

static void
relay_run_stop(struct relay_run *r, int exit_code)
{
	if (r->own_base) {
		r->exit_code = exit_code;
		event_base_loopbreak(r->base);
		return;
	}
	/* On a caller's loop nothing of this run may act after its end. */
	if (r->stopped)
		return;
	r->stopped = 1;
	r->exit_code = exit_code;
	evtimer_del(r->retry);
	evtimer_del(r->deadline);
	event_active(r->end, EV_TIMEOUT, 0);
}

static void
relay_run_ended(evutil_socket_t fd, short what, void *arg)
{
	struct relay_run *r = arg;

	(void)fd;
	(void)what;
	/* may free r */
	r->ended(r->exit_code, r->ended_arg);
}

/* Backoff with +-25% jitter, so that many devices cut off by the same
 * outage do not come back in lockstep. */
static long
relay_run_jitter(long ms)
{
	return ms * (750 + (long)randombytes_uniform(501)) / 1000;
}

/* A new round over every relay after a backoff (+-25% jitter), which
 * doubles up to RELAY_RUN_BACKOFF_MAX_MS. */
static void
relay_run_backoff(struct relay_run *r)
{
	long delay;

	r->tried = 0;
	delay = relay_run_jitter(r->backoff_ms);
	r->backoff_ms *= 2;
	if (r->backoff_ms > RELAY_RUN_BACKOFF_MAX_MS)
		r->backoff_ms = RELAY_RUN_BACKOFF_MAX_MS;
	log_warnx(_(MSG_RETRYING), r->last_reason, delay / 1000.0);
	evtimer_add_ms(r->retry, delay);
}

static void
relay_run_retry(struct relay_run *r, const struct relay_outcome *o)
{
	snprintf(r->last_reason, sizeof(r->last_reason), "%s: %s",
	    r->relay->label, o->reason);
	if (o->settled) {
		/* A connection that worked for a while: a new round, soon
		 * but not at once, in case the relay drops us at once again.
		 * What relays said before is old news. */
		r->tried = 0;
		r->said_by = 0;
		r->backoff_ms = RELAY_RUN_BACKOFF_MIN_MS;
	} else if (r->tried < r->cfg->nrelays) {
		/* A dead relay must not delay the next one. */
		log_warnx(_(MSG_NEXT_RELAY), r->last_reason);
		evtimer_add_ms(r->retry, 0);
		return;
	}
	relay_run_backoff(r);
}

int
relay_code_shut_out(const char *code)
{
	return code != NULL &&
	    (strcmp(code, "revoked") == 0 || strcmp(code, "auth_failed") == 0 ||
	        strcmp(code, "unknown_device") == 0);
}

/* 1 when the relay's code says the device is shut out (or cannot
 * authenticate) and the device's own verified directory says so too
 * (trust.h): no relay can help then. */
static int
relay_run_shut_out(const struct relay_run *r, const char *code)
{
	return r->cfg->shut_out && relay_code_shut_out(code);
}

/* A refusal for good (RELAY_FATAL).  Any error code a relay sends is
 * that relay's word only: one broken or taken over could answer every
 * device with any code to stop every alert.  So the code is recorded
 * against that relay and the next one that has not said so is tried;
 * the run ends only when every relay said so.  That holds for the codes
 * that look like the device's own fault as well: "bad_envelope" and
 * "bad_signature" (an envelope or signature this device made, which no
 * relay can be trusted to judge: one that is really malformed is
 * refused by every relay, at the cost of one attempt each), "revoked",
 * "unknown_device" and "auth_failed" (unless the device's own verified
 * directory agrees), and "conflict", "unknown_recipient" and
 * "unknown_alert" (that relay's state, which another need not share).
 * A failure without a code is the device's own (an envelope it cannot
 * make, no directory to seal to): no relay can help with it.
 * 1 when another relay is to be tried. */
static int
relay_run_refused(struct relay_run *r, const struct relay_outcome *o)
{
	unsigned all = (1u << r->cfg->nrelays) - 1;

	if (o->code[0] == '\0' || relay_run_shut_out(r, o->code))
		return 0;
	r->said_by |= 1u << (size_t)(r->relay - r->cfg->relays);
	if ((r->said_by & all) == all)
		return 0;
	log_warnx(_(MSG_NEXT_RELAY), r->last_reason);
	/* the next one that has not said so */
	while (r->said_by & (1u << r->next))
		r->next = (r->next + 1) % r->cfg->nrelays;
	evtimer_add_ms(r->retry, 0);
	return 1;
}

static void
relay_run_done(const struct relay_outcome *o, void *arg)
{
	struct relay_run *r = arg;

	r->reported = 1;
	if (r->stopped) /* only on a caller's loop */
		return;
	snprintf(r->last_code, sizeof(r->last_code), "%s", o->code);
	switch (o->result) {
	case RELAY_DONE:
		relay_run_stop(r, o->exit_code);
		break;
	case RELAY_FATAL:
		snprintf(r->last_reason, sizeof(r->last_reason), "%s: %s",
		    r->relay->label, o->reason);
		if (relay_run_refused(r, o))
			break;
		if (r->persist) {
			/* a panic button gives up on nothing: what every
			 * relay said may change (a relay repaired, a
			 * directory renewed) */
			r->said_by = 0;
			if (r->refused != NULL)
				r->refused(r->refused_arg, r->last_reason);
			relay_run_backoff(r);
			break;
		}
		r->op->failed(r->op->arg, 0, r->last_reason);
		relay_run_stop(r, EXIT_FAIL);
		break;
	case RELAY_RETRY:
		relay_run_retry(r, o);
		break;
	}
}

static void
relay_run_attempt(evutil_socket_t fd, short what, void *arg)
{
	struct relay_run *r = arg;
	struct relay_session_params p;

	(void)fd;
	(void)what;
	/* The previous session reported from its own callback; it is
	 * safe to free only now. */
	relay_session_free(r->session);
	memset(&p, 0, sizeof(p));
	p.relay_no = r->next;
	r->relay = &r->cfg->relays[r->next];
	r->next = (r->next + 1) % r->cfg->nrelays;
	r->tried++;
	if (r->progress && r->say != NULL) {
		char line[300];

		snprintf(line, sizeof(line), _(MSG_CONNECTING),
		    r->relay->label);
		r->say(r->say_arg, line);
	} else if (r->progress)
		out_line(_(MSG_CONNECTING), r->relay->label);
	else
		log_debug(_(MSG_CONNECTING), r->relay->label);
	p.base = r->base;
	p.dns = r->dns;
	p.ssl_ctx = r->ssl_ctx;
	p.relay = r->relay;
	p.pins = r->cfg->pinv;
	p.npins = r->cfg->npins;
	p.device_id = r->cfg->device_id;
	p.sk = r->sk;
	if (r->cfg->has_org)
		p.trust = r->cfg;
	p.op = r->op;
	p.progress = r->progress;
	p.say = r->say;
	p.say_arg = r->say_arg;
	p.ping_s = r->ping_s;
	p.dead_s = r->dead_s;
	p.done = relay_run_done;
	p.arg = r;
	r->attempts++;
	r->reported = 0;
	r->session = relay_session_start(&p);
}

static void
relay_run_expired(evutil_socket_t fd, short what, void *arg)
{
	struct relay_run *r = arg;
	char now[768];

	(void)fd;
	(void)what;
	/* A code is what every relay said (relay_run_code); at the deadline
	 * some relay did not answer, so one relay's "revoked" or
	 * "auth_failed" says nothing about the device: a relay not yet
	 * reached might take it. */
	r->last_code[0] = '\0';
	if (r->session != NULL && evtimer_pending(r->retry, NULL) == 0) {
		snprintf(now, sizeof(now), _("%s: still %s"), r->relay->label,
		    relay_session_doing(r->session));
		r->op->failed(r->op->arg, 1, now);
	} else
		r->op->failed(r->op->arg, 1, r->last_reason);
	relay_run_stop(r, EXIT_FAIL);
}

void
relay_run_persist(struct relay_run *r)
{
	r->persist = 1;
}

void
relay_run_on_refused(struct relay_run *r,
    void (*refused)(void *arg, const char *why), void *arg)
{
	r->refused = refused;
	r->refused_arg = arg;
}

const char *
relay_run_code(const struct relay_run *r)
{
	return r->last_code;
}

void
relay_run_deadline(struct relay_run *r, long timeout_s)
{
	evtimer_del(r->deadline);
	if (timeout_s > 0)
		evtimer_add_ms(r->deadline, timeout_s * 1000);
}

static struct relay_run *relay_run_make(struct client_config *cfg,
    const unsigned char *sk, const struct relay_op *op, long timeout_s,
    int progress, struct event_base *base,
    const struct relay_run_shared *shared);

struct evdns_base *
relay_run_dns(struct event_base *base)
{
	struct evdns_base *dns;

	dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (dns == NULL)
		log_warnx(_("no DNS resolver configured; only addresses and "
		            "/etc/hosts names will work"));
	return dns;
}

struct relay_run *
relay_run_new(struct client_config *cfg, const unsigned char *sk,
    const struct relay_op *op, long timeout_s, int progress)
{
	return relay_run_make(cfg, sk, op, timeout_s, progress, NULL, NULL);
}

struct relay_run *
relay_run_new_on(struct client_config *cfg, const unsigned char *sk,
    const struct relay_op *op, long timeout_s, struct event_base *base,
    const struct relay_run_shared *shared,
    void (*ended)(int exit_code, void *arg), void *arg)
{
	struct relay_run *r;

	r = relay_run_make(cfg, sk, op, timeout_s, 0, base, shared);
	if (r == NULL)
		return NULL;
	r->ended = ended;
	r->ended_arg = arg;
	if ((r->end = event_new(base, -1, 0, relay_run_ended, r)) == NULL)
		log_fatalx("event_new failed");
	return r;
}

void
relay_run_say(struct relay_run *r, void (*say)(void *, const char *), void *arg)
{
	r->progress = say != NULL;
	r->say = say;
	r->say_arg = arg;
}

static struct relay_run *
relay_run_make(struct client_config *cfg, const unsigned char *sk,
    const struct relay_op *op, long timeout_s, int progress,
    struct event_base *base, const struct relay_run_shared *shared)
{
	struct relay_run *r = xcalloc(1, sizeof(*r));
	char err[256];

	r->cfg = cfg;
	r->sk = sk;
	r->op = op;
	r->progress = progress;
	r->exit_code = EXIT_FAIL;
	if (shared != NULL && shared->ssl_ctx != NULL &&
	    SSL_CTX_up_ref(shared->ssl_ctx) == 1)
		r->ssl_ctx = shared->ssl_ctx;
	else if ((r->ssl_ctx = tls_client_ctx(err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		free(r);
		return NULL;
	}
	r->own_base = base == NULL;
	if ((r->base = base != NULL ? base : event_base_new()) == NULL)
		log_fatalx("event_base_new failed");
	if (shared != NULL && shared->dns != NULL)
		r->dns = shared->dns;
	else {
		r->own_dns = 1;
		r->dns = relay_run_dns(r->base);
	}
	r->retry = evtimer_new(r->base, relay_run_attempt, r);
	r->deadline = evtimer_new(r->base, relay_run_expired, r);
	if (r->retry == NULL || r->deadline == NULL)
		log_fatalx("evtimer_new failed");
	relay_run_deadline(r, timeout_s);
	r->backoff_ms = RELAY_RUN_BACKOFF_MIN_MS;
	snprintf(r->last_reason, sizeof(r->last_reason), "%s",
	    _("no attempt made"));
	return r;
}

int
relay_run_go(struct relay_run *r)
{
	evtimer_add_ms(r->retry, 0);
	event_base_dispatch(r->base);
	return r->exit_code;
}

void
relay_run_start(struct relay_run *r)
{
	evtimer_add_ms(r->retry, 0);
}

void
relay_run_free(struct relay_run *r)
{
	if (r == NULL)
		return;
	relay_session_free(r->session);
	event_free(r->retry);
	event_free(r->deadline);
	if (r->end != NULL)
		event_free(r->end);
	if (r->dns != NULL && r->own_dns)
		evdns_base_free(r->dns, 0);
	if (r->own_base)
		event_base_free(r->base);
	SSL_CTX_free(r->ssl_ctx);
	free(r);
}

void
relay_run_keepalive(struct relay_run *r, int ping_s, int dead_s)
{
	r->ping_s = ping_s;
	r->dead_s = dead_s;
}

struct event_base *
relay_run_base(struct relay_run *r)
{
	return r->base;
}

void
relay_run_finish(struct relay_run *r, int exit_code)
{
	relay_run_stop(r, exit_code);
}

struct relay_session *
relay_run_session(const struct relay_run *r)
{
	return r->reported ? NULL : r->session;
}

unsigned long
relay_run_attempt_no(const struct relay_run *r)
{
	return r->attempts;
}
