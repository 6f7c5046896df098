#include <stdio.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <sodium.h>

#include "alertctl.h"
#include "delivery.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "relay_session.h"
#include "tls.h"

struct delivery {
	const struct client_config *cfg;
	const unsigned char *sk;
	const char *alert_id;
	const json_t *frame;
	long timeout_s;

	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl_ctx;
	struct event *retry; /* next attempt */
	struct event *deadline; /* --timeout */
	struct relay_session *session;
	const struct client_relay *relay; /* of session */
	size_t next; /* relay to try next */
	size_t tried; /* attempts in this round */
	long backoff_ms;
	char last_reason[768];
	int exit_code;
};

static void delivery_attempt(evutil_socket_t fd, short what, void *arg);

static void
delivery_stop(struct delivery *d, int exit_code)
{
	d->exit_code = exit_code;
	event_base_loopbreak(d->base);
}

/* Backoff with +-25% jitter, so that many devices cut off by the same
 * outage do not come back in lockstep. */
static long
delivery_jitter(long ms)
{
	return ms * (750 + (long)randombytes_uniform(501)) / 1000;
}

static void
delivery_schedule(struct delivery *d, long delay_ms)
{
	struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};

	evtimer_add(d->retry, &tv);
}

static void
delivery_retry(struct delivery *d, const char *reason)
{
	long delay;

	snprintf(d->last_reason, sizeof(d->last_reason), "%s: %s",
	    d->relay->label, reason);
	if (d->tried < d->cfg->nrelays) {
		/* A dead relay must not delay the next one. */
		log_warnx(MSG_NEXT_RELAY, d->last_reason);
		delivery_schedule(d, 0);
		return;
	}
	d->tried = 0;
	delay = delivery_jitter(d->backoff_ms);
	d->backoff_ms *= 2;
	if (d->backoff_ms > DELIVERY_BACKOFF_MAX_MS)
		d->backoff_ms = DELIVERY_BACKOFF_MAX_MS;
	log_warnx(MSG_RETRYING, d->last_reason, delay / 1000.0);
	delivery_schedule(d, delay);
}

static void
delivery_done(const struct relay_outcome *o, void *arg)
{
	struct delivery *d = arg;

	switch (o->result) {
	case RELAY_ACCEPTED:
		out_line(MSG_ACCEPTED, d->alert_id, o->relay_id,
		    o->duplicate ? MSG_DUPLICATE : "");
		delivery_stop(d, EXIT_OK);
		break;
	case RELAY_FATAL:
		log_warnx(MSG_REFUSED, d->alert_id, d->relay->label, o->reason);
		delivery_stop(d, EXIT_FAIL);
		break;
	case RELAY_RETRY:
		delivery_retry(d, o->reason);
		break;
	}
}

static void
delivery_attempt(evutil_socket_t fd, short what, void *arg)
{
	struct delivery *d = arg;
	struct relay_session_params p;

	(void)fd;
	(void)what;
	/* The previous session reported from its own callback; it is
	 * safe to free only now. */
	relay_session_free(d->session);
	d->relay = &d->cfg->relays[d->next];
	d->next = (d->next + 1) % d->cfg->nrelays;
	d->tried++;
	out_line(MSG_CONNECTING, d->relay->label);
	memset(&p, 0, sizeof(p));
	p.base = d->base;
	p.dns = d->dns;
	p.ssl_ctx = d->ssl_ctx;
	p.relay = d->relay;
	p.pins = d->cfg->pinv;
	p.npins = d->cfg->npins;
	p.device_id = d->cfg->device_id;
	p.sk = d->sk;
	p.alert_frame = d->frame;
	p.alert_id = d->alert_id;
	p.done = delivery_done;
	p.arg = d;
	d->session = relay_session_start(&p);
}

static void
delivery_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct delivery *d = arg;
	char now[768];

	(void)fd;
	(void)what;
	if (d->session != NULL && evtimer_pending(d->retry, NULL) == 0) {
		snprintf(now, sizeof(now), "%s: no answer (%s)",
		    d->relay->label, relay_session_doing(d->session));
		log_warnx(MSG_DEADLINE, d->timeout_s, now);
	} else
		log_warnx(MSG_DEADLINE, d->timeout_s, d->last_reason);
	log_warnx(MSG_RESEND_HINT, d->alert_id);
	delivery_stop(d, EXIT_FAIL);
}

static int
delivery_setup(struct delivery *d)
{
	struct timeval tv = {d->timeout_s, 0};
	char err[256];

	if ((d->ssl_ctx = tls_client_ctx(err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if ((d->base = event_base_new()) == NULL)
		log_fatalx("event_base_new failed");
	d->dns = evdns_base_new(d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (d->dns == NULL)
		log_warnx("no DNS resolver configured; only addresses and "
		          "/etc/hosts names will work");
	d->retry = evtimer_new(d->base, delivery_attempt, d);
	d->deadline = evtimer_new(d->base, delivery_deadline, d);
	if (d->retry == NULL || d->deadline == NULL)
		log_fatalx("evtimer_new failed");
	evtimer_add(d->deadline, &tv);
	d->backoff_ms = DELIVERY_BACKOFF_MIN_MS;
	snprintf(d->last_reason, sizeof(d->last_reason), "no attempt made");
	return 0;
}

static void
delivery_teardown(struct delivery *d)
{
	relay_session_free(d->session);
	if (d->retry != NULL)
		event_free(d->retry);
	if (d->deadline != NULL)
		event_free(d->deadline);
	if (d->dns != NULL)
		evdns_base_free(d->dns, 0);
	if (d->base != NULL)
		event_base_free(d->base);
	SSL_CTX_free(d->ssl_ctx);
}

int
delivery_run(const struct client_config *cfg, const unsigned char *sk,
    const char *alert_id, const json_t *frame, long timeout_s)
{
	struct delivery d;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.sk = sk;
	d.alert_id = alert_id;
	d.frame = frame;
	d.timeout_s = timeout_s;
	d.exit_code = EXIT_FAIL;
	if (delivery_setup(&d) == 0) {
		delivery_schedule(&d, 0);
		event_base_dispatch(d.base);
	}
	delivery_teardown(&d);
	return d.exit_code;
}
