/*
 * libalertclient's client handle: init, version, status texts, opening a
 * device, the loop (the caller's or the library's own, stepped), and the
 * operations under way with the events they tell.
 */
#include <libintl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "alertctl.h"
#include "ar_internal.h"
#include "evtimer_ms.h"
#include "i18n.h"
#include "log.h"
#include "ltime.h"
#include "msg.h"
#include "outbox.h"
#include "tls.h"
#include "trust.h"
#include "xmalloc.h"

#ifndef LOCALEDIR
#define LOCALEDIR "/usr/local/share/locale"
#endif

static int ar_ready;

AR_API const char *
ar_version(void)
{
	return "1.0.0";
}

AR_API const char *
ar_strerror(int status)
{
	static const char *const texts[] = {
	    [AR_OK] = "success",
	    [AR_E_INVAL] = "invalid argument",
	    [AR_E_NOT_INIT] = "ar_init() was not called or failed",
	    [AR_E_CONFIG] = "the configuration cannot be used",
	    [AR_E_KEY] = "the device key cannot be used",
	    [AR_E_TLS] = "TLS cannot be set up",
	    [AR_E_NOSPACE] = "the buffer is too small",
	    [AR_E_SEAL] = "the alert could not be sealed",
	    [AR_E_NO_DIRECTORY] = "no signed directory to seal to",
	    [AR_E_EXISTS] = "a device is enrolled there already",
	    [AR_E_REFUSED] = "a relay refused the request",
	    [AR_E_REVOKED] = "the relays refuse this device",
	    [AR_E_TIMEOUT] = "no relay answered in time",
	    [AR_E_UNKNOWN_ALERT] = "the relay does not know the alert",
	    [AR_E_PIN] = "a PIN is needed, or the PIN is wrong",
	    [AR_E_CLOSED] = "the alert ended before what was awaited",
	    [AR_E_LOOP] = "the event loop failed or is the caller's",
	    [AR_E_BUSY] = "reserved (not returned by this version)",
	    [AR_E_BUNDLE] = "the enrollment bundle cannot be used",
	    [AR_E_STORAGE] = "the alert was not kept in the outbox",
	};

	if (status < 0 || (size_t)status >= sizeof(texts) / sizeof(texts[0]) ||
	    texts[status] == NULL)
		return "unknown status";
	return texts[status];
}

int
ar_initialised(void)
{
	return ar_ready;
}

AR_API int
ar_init(void)
{
	const char *dir = getenv("ALERTRELAY_LOCALEDIR");

	if (ar_ready)
		return AR_OK;
	if (sodium_init() < 0)
		return AR_E_NOT_INIT;
	/* The caller's locale decides the language; only where our
	 * catalogue is and that texts are UTF-8 are ours to say. */
	bindtextdomain(I18N_DOMAIN,
	    dir != NULL && *dir != '\0' ? dir : LOCALEDIR);
	bind_textdomain_codeset(I18N_DOMAIN, "UTF-8");
	log_init("libalertclient", LOG_WARNING, LOG_TO_STDERR);
	log_set_human(1);
	ar_ready = 1;
	return AR_OK;
}

static int
ar_client_why(int status, char *why, size_t why_len, const char *text)
{
	if (why != NULL && why_len > 0)
		snprintf(why, why_len, "%s", text);
	return status;
}

AR_API int
ar_client_new(ar_client **out, const char *config_path, struct event_base *base,
    const struct ar_callbacks *callbacks, void *ctx, char *why, size_t why_len)
{
	struct ar_client *c;
	int rc;

	(void)ar_client_why(AR_OK, why, why_len, "");
	if (out == NULL)
		return ar_client_why(AR_E_INVAL, why, why_len,
		    ar_strerror(AR_E_INVAL));
	*out = NULL;
	if (!ar_ready)
		return ar_client_why(AR_E_NOT_INIT, why, why_len,
		    ar_strerror(AR_E_NOT_INIT));
	c = xcalloc(1, sizeof(*c));
	/* what device_open_parts logs on this thread is the reason */
	log_forget_problem();
	if ((rc = device_open_parts(&c->d, config_path)) != 0) {
		device_close(&c->d);
		free(c);
		return ar_client_why(rc == -2 ? AR_E_KEY : AR_E_CONFIG, why,
		    why_len, log_last_problem());
	}
	c->own_base = base == NULL;
	if ((c->base = base != NULL ? base : event_base_new()) == NULL) {
		device_close(&c->d);
		free(c);
		return ar_client_why(AR_E_LOOP, why, why_len,
		    ar_strerror(AR_E_LOOP));
	}
	if (callbacks != NULL)
		c->cb = *callbacks;
	c->ctx = ctx;
	c->timeout_s = DEVICE_TIMEOUT_DEFAULT;
	*out = c;
	return AR_OK;
}

static void
ar_client_release(struct ar_client *c)
{
	while (c->ops != NULL)
		ar_op_free(c->ops);
	if (c->wake != NULL)
		event_free(c->wake);
	if (c->shared.dns != NULL)
		evdns_base_free(c->shared.dns, 0);
	SSL_CTX_free(c->shared.ssl_ctx);
	if (c->own_base)
		event_base_free(c->base);
	device_close(&c->d);
	free(c);
}

AR_API void
ar_client_free(ar_client *c)
{
	if (c == NULL)
		return;
	/* From a callback inside ar_client_step: its loop is running,
	 * so the end of the step frees it. */
	if (c->stepping) {
		c->free_pending = 1;
		return;
	}
	ar_client_release(c);
}

AR_API int
ar_client_set_option(ar_client *c, int option, long value)
{
	if (c == NULL || value < 0 || value > DEVICE_TIMEOUT_MAX * 366L)
		return AR_E_INVAL;
	if (option == AR_OPT_TIMEOUT && value > 0 &&
	    value <= DEVICE_TIMEOUT_MAX)
		c->timeout_s = value;
	else if (option == AR_OPT_WAIT_TIMEOUT)
		c->wait_timeout_s = value;
	else
		return AR_E_INVAL;
	return AR_OK;
}

static void
ar_client_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

AR_API int
ar_client_step(ar_client *c, int timeout_ms)
{
	int rc;

	if (c == NULL || timeout_ms < 0)
		return AR_E_INVAL;
	if (!c->own_base || c->stepping)
		return AR_E_LOOP;
	c->stepping = 1;
	if (timeout_ms == 0)
		rc = event_base_loop(c->base, EVLOOP_NONBLOCK);
	else {
		/* EVLOOP_ONCE waits for the first event: this one, made once
		 * per client, bounds the wait. */
		if (c->wake == NULL &&
		    (c->wake = evtimer_new(c->base, ar_client_wake, NULL)) ==
		        NULL)
			log_fatalx("evtimer_new failed");
		evtimer_add_ms(c->wake, timeout_ms);
		rc = event_base_loop(c->base, EVLOOP_ONCE);
		evtimer_del(c->wake);
	}
	c->stepping = 0;
	if (c->free_pending) {
		ar_client_release(c);
		return AR_OK;
	}
	return rc < 0 ? AR_E_LOOP : AR_OK;
}

AR_API int
ar_client_pending(const ar_client *c)
{
	return c != NULL ? c->nops : 0;
}

AR_API const char *
ar_client_reason(const ar_client *c)
{
	return c != NULL ? c->why : "";
}

AR_API const char *
ar_client_contact(const ar_client *c)
{
	return c != NULL ? c->d.cfg.contact : NULL;
}

void
ar_client_zone(const struct ar_client *c)
{
	ltime_set_zone(c->d.cfg.timezone);
}

AR_API const char *
ar_client_device_id(const ar_client *c)
{
	return c != NULL ? c->d.cfg.device_id : NULL;
}

void
ar_emit(struct ar_op *op, struct ar_event *ev)
{
	/* freed from a callback of this step: nothing more is told */
	if (op->c->free_pending)
		return;
	ev->op = op->kind;
	if (ev->alert_id == NULL && op->alert_id[0] != '\0')
		ev->alert_id = op->alert_id;
	if (op->c->cb.on_event != NULL)
		op->c->cb.on_event(op->c->ctx, ev);
}

void
ar_say(void *arg, const char *line)
{
	struct ar_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = AR_EV_PROGRESS;
	ev.text = line;
	ar_emit(arg, &ev);
}

struct ar_op *
ar_op_new(struct ar_client *c, int kind, const char *alert_id)
{
	struct ar_op *op = xcalloc(1, sizeof(*op));

	op->c = c;
	op->kind = kind;
	op->hold = -1;
	if (alert_id != NULL)
		snprintf(op->alert_id, sizeof(op->alert_id), "%s", alert_id);
	op->next = c->ops;
	if (c->ops != NULL)
		c->ops->prev = op;
	c->ops = op;
	c->nops++;
	return op;
}

void
ar_op_free(struct ar_op *op)
{
	struct ar_client *c = op->c;

	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		c->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	c->nops--;
	ar_pin_free(op->pin);
	if (op->kick != NULL)
		event_free(op->kick);
	relay_run_free(op->run);
	resend_free(op->queue);
	if (op->sealed != NULL) {
		alert_seal_free(op->sealed);
		free(op->sealed);
	}
	ar_follow_free(op->follow);
	json_decref(op->frame);
	alert_clear(&op->a);
	outbox_let_go(&op->hold);
	free(op);
}

void
ar_op_fail(struct ar_op *op, int status, const char *code, const char *reason)
{
	op->status = status;
	if (code != NULL)
		snprintf(op->code, sizeof(op->code), "%s", code);
	if (reason != NULL)
		snprintf(op->reason, sizeof(op->reason), "%s", reason);
}

/* The run's end: the op is freed first, so that the caller may free the
 * client from the last event's callback. */
static void
ar_op_ended(int exit_code, void *arg)
{
	struct ar_op *op = arg;
	struct ar_event ev;
	struct ar_op told;

	if (op->finish != NULL)
		op->finish(op, exit_code);
	else
		op->status =
		    ar_outcome_ended(op->status, exit_code, AR_E_TIMEOUT);
	memset(&told, 0, sizeof(told));
	told.c = op->c;
	told.kind = op->kind;
	memcpy(told.alert_id, op->alert_id, sizeof(told.alert_id));
	memset(&ev, 0, sizeof(ev));
	ev.type = op->status == AR_OK ? AR_EV_DONE : AR_EV_FAILED;
	ev.status = op->status;
	ev.reason = op->status == AR_OK ? NULL : xstrdup(op->reason);
	ev.code = op->code[0] != '\0' ? xstrdup(op->code) : NULL;
	ar_op_free(op);
	ar_emit(&told, &ev);
	free((char *)ev.reason);
	free((char *)ev.code);
}

static void
ar_op_kick(evutil_socket_t fd, short what, void *arg)
{
	struct ar_op *op = arg;

	(void)fd;
	(void)what;
	if (op->begin != NULL)
		op->begin(op);
	op->kicked = 1;
	if (!op->held)
		relay_run_start(op->run);
}

void
ar_op_release(struct ar_op *op)
{
	op->held = 0;
	if (op->kicked)
		relay_run_start(op->run);
}

void
ar_op_end(struct ar_op *op, int exit_code)
{
	ar_op_ended(exit_code, op);
}

/* One TLS context (certificate store, settings) and one resolver per
 * client, not per operation: neither is made again on the loop. */
static void
ar_client_shared(struct ar_client *c)
{
	char err[256];

	if (c->have_shared)
		return;
	c->have_shared = 1;
	if ((c->shared.ssl_ctx = tls_client_ctx(err, sizeof(err))) == NULL)
		log_warnx("%s", err); /* each run tries again, and says so */
	c->shared.dns = relay_run_dns(c->base);
}

int
ar_op_start(struct ar_op *op, long timeout_s)
{
	struct ar_client *c = op->c;

	ar_client_shared(c);
	op->run = relay_run_new_on(&c->d.cfg, c->d.sk, &op->rop, timeout_s,
	    c->base, &c->shared, ar_op_ended, op);
	if (op->run == NULL) {
		snprintf(c->why, sizeof(c->why), "%s", _(MSG_WHY_NO_TLS));
		ar_op_free(op);
		return AR_E_TLS;
	}
	relay_run_say(op->run, ar_say, op);
	/* No event before the function that started the op returned. */
	if ((op->kick = event_new(c->base, -1, 0, ar_op_kick, op)) == NULL)
		log_fatalx("event_new failed");
	event_active(op->kick, EV_TIMEOUT, 0);
	return AR_OK;
}
