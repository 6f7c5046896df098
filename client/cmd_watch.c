/*
 * alertctl watch: a supervised connection to the relays for as long as
 * it runs.  Each session authenticates, sends every unsent alert of the
 * outbox until accepted (resend.h), asks for the receipts of the recent
 * alerts that are still open, and prints every receipt as it comes.  It
 * pings every --interval and counts the path as dead after --dead-after
 * seconds without a frame; then, as after any loss, it reconnects with
 * backoff and jitter across the relays (relay_run.h), for ever.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <event2/event.h>

#include "i18n.h"
#include "ack_verify.h"
#include "alertctl.h"
#include "device.h"
#include "frame.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "outbox.h"
#include "receipt.h"
#include "receipt_ack.h"
#include "relay_run.h"
#include "resend.h"
#include "seen.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

#define WATCH_INTERVAL_DEFAULT 15
#define WATCH_DEAD_DEFAULT 45
#define WATCH_RECENT_S (24 * 3600) /* alerts followed: this recent */
#define WATCH_PRINTED_MAX 65536

struct watch_opts {
	const char *config;
	long timeout_s; /* 0: for ever */
	long interval_s;
	long dead_s;
	int once;
	int supervise; /* declare --interval to the relay (supervise.h) */
	int accept_relay; /* --accept-relay-ack (ack_verify.h) */
};

enum {
	OPT_INTERVAL = DEVICE_GETOPT_NEXT,
	OPT_DEAD_AFTER,
	OPT_ONCE,
	OPT_SUPERVISE,
	OPT_ACCEPT_RELAY_ACK,
};

struct watch_run {
	const struct watch_opts *o;
	struct device *d;
	char *dir; /* the outbox */
	struct relay_run *run;
	struct resend *queue;
	struct seen *printed; /* alert_id + receipt_key of what was printed */
	struct seen *watching; /* alerts asked for on this session */
	unsigned sessions;
};

static int
watch_parse(int argc, char **argv, struct globals *g, struct watch_opts *o)
{
	static const struct option longopts[] = {
	    {"interval", required_argument, NULL, OPT_INTERVAL},
	    {"dead-after", required_argument, NULL, OPT_DEAD_AFTER},
	    {"once", no_argument, NULL, OPT_ONCE},
	    {"supervise", no_argument, NULL, OPT_SUPERVISE},
	    {"accept-relay-ack", no_argument, NULL, OPT_ACCEPT_RELAY_ACK},
	    DEVICE_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int ch, rc;

	memset(o, 0, sizeof(*o));
	o->config = g->config;
	o->interval_s = WATCH_INTERVAL_DEFAULT;
	o->dead_s = WATCH_DEAD_DEFAULT;
	optind = 0;
	while ((ch = getopt_long(argc, argv, DEVICE_SHORTOPTS, longopts,
	            NULL)) != -1) {
		switch (ch) {
		case OPT_INTERVAL:
			if (parse_long(optarg, 1, 3600, &o->interval_s) != 0)
				return usage_error("watch",
				    _("--interval must be 1..3600 seconds"));
			break;
		case OPT_DEAD_AFTER:
			if (parse_long(optarg, 2, 86400, &o->dead_s) != 0)
				return usage_error("watch",
				    _("--dead-after must be 2..86400 seconds"));
			break;
		case OPT_ONCE:
			o->once = 1;
			break;
		case OPT_SUPERVISE:
			o->supervise = 1;
			break;
		case OPT_ACCEPT_RELAY_ACK:
			o->accept_relay = 1;
			break;
		default:
			rc = device_opt("watch", ch, &o->config, &o->timeout_s);
			if (rc != 0)
				return rc;
		}
	}
	if (optind != argc)
		return usage_error("watch", _("unexpected argument '%s'"),
		    argv[optind]);
	if (o->dead_s <= o->interval_s)
		return usage_error("watch",
		    _("--dead-after must be longer than --interval"));
	return 0;
}

/* New unsent alerts of the outbox join the queue; how many. */
static size_t
watch_load_unsent(struct watch_run *wr)
{
	struct sealed_alert *v;
	size_t n, i, added = 0;

	n = outbox_list(wr->dir, OUTBOX_UNSENT, 0,
	    wr->d->sk + crypto_sign_SEEDBYTES, NULL, OUTBOX_LIST_MAX, &v);
	for (i = 0; i < n; i++) {
		if (resend_has(wr->queue, v[i].alert_id)) {
			alert_seal_free(&v[i]);
			continue;
		}
		out_line(MSG_RESENDING_UNSENT, v[i].alert_id, v[i].created_at);
		resend_add(wr->queue, &v[i]);
		added++;
	}
	free(v);
	return added;
}

/* Every alert sent: follow the recent open ones, then wait. */
static void
watch_follow(struct watch_run *wr, struct relay_session *s)
{
	struct sealed_alert *v;
	size_t n, i;

	if (resend_move_on(wr->queue, s))
		return; /* what this relay refused goes to the next one */
	if (wr->o->once && resend_pending(wr->queue) == 0) {
		out_line(_(MSG_WATCH_ALL_SENT));
		relay_session_done(s, EXIT_OK);
		return;
	}
	n = outbox_list(wr->dir, OUTBOX_OPEN, time(NULL) - WATCH_RECENT_S,
	    wr->d->sk + crypto_sign_SEEDBYTES, NULL, OUTBOX_LIST_MAX, &v);
	for (i = 0; i < n; i++) {
		if (!seen_has(wr->watching, v[i].alert_id)) {
			seen_add(wr->watching, v[i].alert_id);
			(void)relay_session_watch(s, v[i].alert_id);
		}
		alert_seal_free(&v[i]);
	}
	free(v);
	relay_session_keepalive(s, "receipts");
}

static void
watch_send_pending(struct watch_run *wr, struct relay_session *s)
{
	if (resend_start(wr->queue, s) > 0)
		relay_session_expect(s, "accepted");
	else
		watch_follow(wr, s);
}

/* The relay is told this connection's interval: a path silent longer
 * than that (plus the relay's grace) is reported (device.offline). */
static void
watch_supervise(struct watch_run *wr, struct relay_session *s)
{
	if (relay_session_supervise(s, wr->o->interval_s) != 0)
		log_warnx("%s",
		    _("this relay does not supervise connections; "
		      "watching without supervision"));
}

static void
watch_ready(struct relay_session *s, void *arg)
{
	struct watch_run *wr = arg;

	out_line(wr->sessions++ == 0 ? _(MSG_WATCH_CONNECTED)
	                             : _(MSG_WATCH_RECONNECTED),
	    relay_session_label(s));
	seen_free(wr->watching);
	wr->watching = seen_new(OUTBOX_LIST_MAX * 4);
	watch_load_unsent(wr);
	if (wr->o->supervise)
		watch_supervise(wr, s);
	watch_send_pending(wr, s);
}

/* At each ping: alerts that another alertctl left unsent meanwhile. */
static void
watch_idle(struct relay_session *s, void *arg)
{
	struct watch_run *wr = arg;

	if (resend_inflight(wr->queue) == 0 && watch_load_unsent(wr) > 0)
		watch_send_pending(wr, s);
}

static void
watch_answered(void *arg, struct relay_session *s, size_t i, int duplicate)
{
	struct watch_run *wr = arg;

	(void)i;
	(void)duplicate;
	if (resend_inflight(wr->queue) > 0)
		relay_session_expect(s, "accepted");
	else
		watch_follow(wr, s);
}

static void
watch_refused(void *arg, struct relay_session *s, size_t i, const char *code,
    const char *why, int for_good)
{
	/* Logged by resend; watch goes on with the others, and takes
	 * what only this relay refused to the next (watch_follow). */
	(void)code;
	(void)why;
	(void)for_good;
	watch_answered(arg, s, i, 0);
}

/* 1 when watch_printed(wr, alert_id, what) was called before in this
 * process; remembers nothing. */
static int
watch_said(struct watch_run *wr, const char *alert_id, const char *what)
{
	char *key = xasprintf("%s %s", alert_id, what);
	int had = seen_has(wr->printed, key);

	free(key);
	return had;
}

/* 1 when this line of this alert was printed before; else remembers. */
static int
watch_printed(struct watch_run *wr, const char *alert_id, const char *what)
{
	char *key;

	if (watch_said(wr, alert_id, what))
		return 1;
	key = xasprintf("%s %s", alert_id, what);
	seen_add(wr->printed, key);
	free(key);
	return 0;
}

static void
watch_closed(struct watch_run *wr, const char *alert_id, const char *state)
{
	if (alert_id_valid(alert_id) &&
	    !outbox_marked(wr->dir, alert_id, OUTBOX_CLOSED))
		outbox_mark(wr->dir, alert_id, OUTBOX_CLOSED, state);
}

/* A cancel the device did not sign (none in the receipt, or not this
 * device's): the relay's word, which any relay or anyone writing its
 * Redis can say of an alert still open (cancel_receipt.h).  Said once,
 * and the alert followed on, as the button keeps it. */
static void
watch_relays_cancel(struct watch_run *wr, const char *alert_id)
{
	if (watch_printed(wr, alert_id, "cancelled by the relay"))
		return;
	if (out_line(_("alert %s: the relay says it is cancelled, but not "
	               "with this device's signed cancel: still following "
	               "it"),
	        alert_id) != 0)
		log_warn("stdout");
}

/* An acknowledgement only the relay vouches for (an SMS reply, a
 * statement nobody can check, or the state word alone): a relay taken
 * over could say it of an alert nobody took.  Said once, and the alert
 * followed on, as the button keeps it, unless --accept-relay-ack. */
static void
watch_relays_ack(struct watch_run *wr, const char *alert_id)
{
	if (watch_printed(wr, alert_id, "acknowledged by the relay"))
		return;
	if (out_line(_("alert %s: the relay says it is acknowledged, but no "
	               "person signed that: still following it"),
	        alert_id) != 0)
		log_warn("stdout");
}

/* The relay's own timer ran out: it escalates the alert no more, and
 * watch follows it no more.  Said once, in words that do not read as
 * help on its way. */
static void
watch_expired(struct watch_run *wr, const char *alert_id)
{
	if (!watch_printed(wr, alert_id, "expired") &&
	    out_line(_("alert %s: expired: the relay stopped escalating it "
	               "and nobody confirmed it; it is no longer followed. "
	               "Still in danger? Call 112."),
	        alert_id) != 0)
		log_warn("stdout");
	watch_closed(wr, alert_id, "expired");
}

/* An acknowledgement closes the alert only on the terms of the button
 * and send --wait ack (ack_verify_ends_wait): one a person signed, or
 * the relay's word with --accept-relay-ack.  One that closes also
 * stands for the state line of a status answer that crossed it
 * (watch_status): the alert's end is told once.  A refused one was
 * said loudly by its receipt line. */
static void
watch_ack(struct watch_run *wr, const char *alert_id, const json_t *ev)
{
	struct ack_check c;

	ack_verify_event(wr->d->av, ev, alert_id, &c);
	if (ack_verify_ends_wait(c.verdict, wr->o->accept_relay)) {
		(void)watch_printed(wr, alert_id, "acknowledged");
		watch_closed(wr, alert_id, "acknowledged");
	} else if (c.verdict == ACK_RELAY)
		watch_relays_ack(wr, alert_id);
	sodium_memzero(&c, sizeof(c));
}

static void
watch_event(struct watch_run *wr, const char *alert_id, const json_t *ev)
{
	const char *what = json_str(ev, "event");
	char line[RECEIPT_LINE_MAX], *key;
	int had;

	if (what == NULL || strcmp(what, "accepted") == 0 ||
	    (key = receipt_key(ev)) == NULL)
		return;
	had = watch_printed(wr, alert_id, key);
	free(key);
	/* an expiry has a line of its own (watch_expired) */
	if (!had && strcmp(what, "expired") != 0) {
		receipt_ack_line(wr->d->av, ev, alert_id, 1, line,
		    sizeof(line));
		if (out_line(_(MSG_WATCH_RECEIPT), alert_id, line) != 0)
			log_warn("stdout");
	}
	if (strcmp(what, "acknowledged") == 0)
		watch_ack(wr, alert_id, ev);
	else if (strcmp(what, "cancelled") == 0 &&
	    !ack_verify_own_cancel(wr->d->av, ev, alert_id))
		watch_relays_cancel(wr, alert_id);
	else if (strcmp(what, "cancelled") == 0) {
		(void)watch_printed(wr, alert_id, what);
		watch_closed(wr, alert_id, what);
	} else if (strcmp(what, "expired") == 0)
		watch_expired(wr, alert_id);
}

static void
watch_status(struct watch_run *wr, const char *alert_id, const json_t *o)
{
	const char *state = json_str(o, "state");
	json_t *events = json_object_get(o, "events"), *ev;
	char clean[32], word[RECEIPT_WORD_MAX];
	size_t i;

	json_array_foreach(events, i, ev)
	{
		watch_event(wr, alert_id, ev);
	}
	if (state == NULL || strcmp(state, "open") == 0)
		return;
	out_clean(state, clean, sizeof(clean));
	/* The state word alone is the relay's.  It stands for a close only
	 * when this process verified one, among the events above or in an
	 * earlier receipt: this device's own signed cancel, or an
	 * acknowledgement on watch_ack's terms (each remembered under the
	 * state's word, and told).  Not the outbox's .closed marker: the
	 * panic button writes it on the relay's word too (accept_relay_ack,
	 * or a hold that finds the alert not open), and may have written it
	 * since watch asked after the alert. */
	if (strcmp(clean, "cancelled") == 0 &&
	    !watch_said(wr, alert_id, "cancelled")) {
		watch_relays_cancel(wr, alert_id);
		return;
	}
	/* with --accept-relay-ack the relay's word closes it, as it does
	 * an acknowledgement event */
	if (strcmp(clean, "acknowledged") == 0 && !wr->o->accept_relay &&
	    !watch_said(wr, alert_id, "acknowledged")) {
		watch_relays_ack(wr, alert_id);
		return;
	}
	if (strcmp(clean, "expired") == 0) {
		watch_expired(wr, alert_id);
		return;
	}
	if (strcmp(clean, "cancelled") == 0)
		return; /* closed and told by the event above */
	if (!watch_printed(wr, alert_id, clean))
		out_line(_(MSG_WATCH_STATE), alert_id,
		    receipt_word(clean, word, sizeof(word)));
	watch_closed(wr, alert_id, clean);
}

/* A reminder of the device's check-in (checkin.h): 0 when it was one. */
static int
watch_checkin_receipt(struct watch_run *wr, const json_t *o)
{
	const char *ev = json_str(o, "event"), *cid = json_str(o, "checkin_id");
	const char *deadline = json_str(o, "deadline");
	char t[64], key[64];
	struct tm tm;
	time_t when;

	if (ev == NULL || strcmp(ev, "checkin_reminder") != 0 || cid == NULL ||
	    !alert_id_valid(cid) || deadline == NULL ||
	    time_rfc3339_parse(deadline, &when) != 0)
		return -1;
	snprintf(key, sizeof(key), "reminder|%s|%lld", cid, (long long)when);
	if (seen_has(wr->printed, key))
		return 0;
	seen_add(wr->printed, key);
	if (localtime_r(&when, &tm) == NULL ||
	    strftime(t, sizeof(t), "%H:%M:%S %Z", &tm) == 0)
		snprintf(t, sizeof(t), "%s", deadline);
	out_line(_("Reminder: check in before %s with: alertctl checkin done"),
	    t);
	return 0;
}

static void
watch_frame(struct relay_session *s, const char *type, const json_t *o,
    void *arg)
{
	struct watch_run *wr = arg;
	const char *id = json_str(o, "alert_id"), *code = json_str(o, "code");

	if (resend_frame(wr->queue, s, type, o))
		return; /* hooks above */
	if (id != NULL && !alert_id_valid(id))
		id = NULL;
	if (strcmp(type, "receipt") == 0 && id != NULL)
		watch_event(wr, id, o);
	else if (strcmp(type, "receipt") == 0 &&
	    watch_checkin_receipt(wr, o) == 0)
		;
	else if (strcmp(type, "supervised") == 0)
		log_debug("supervised by the relay");
	else if (strcmp(type, "error") == 0 && code != NULL &&
	    strcmp(code, "bad_interval") == 0)
		log_warnx(_("the relay refuses supervision every %ld s; "
		            "watching without it"),
		    wr->o->interval_s);
	else if (strcmp(type, "status") == 0 && id != NULL)
		watch_status(wr, id, o);
	else if (strcmp(type, "error") == 0 && code != NULL &&
	    strcmp(code, "unknown_alert") == 0)
		/* Not (yet) in Redis, or expired: nothing to follow. */
		log_debug("relay does not know alert %s",
		    id != NULL ? id : "?");
	else
		relay_session_unhandled(s, type, o);
}

static void
watch_failed(void *arg, int deadline, const char *why)
{
	struct watch_run *wr = arg;

	if (deadline)
		log_errorx(_("watch: %ld s passed: %s"), wr->o->timeout_s, why);
	else
		log_errorx(_("watch: %s"), why);
	if (resend_pending(wr->queue) > 0)
		log_warnx(_("%zu alert(s) still unsent in the outbox"),
		    resend_pending(wr->queue));
}

static void
watch_signal(evutil_socket_t sig, short what, void *arg)
{
	struct watch_run *wr = arg;

	(void)what;
	log_debug("signal %d", (int)sig);
	out_line(_(MSG_WATCH_STOPPED));
	relay_run_finish(wr->run, EXIT_OK);
}

static int
watch_go(const struct watch_opts *o, struct device *d)
{
	struct watch_run wr;
	struct relay_op op = {watch_ready, watch_frame, watch_failed, &wr,
	    watch_idle};
	struct resend_hooks hooks = {watch_answered, watch_refused, &wr, 0};
	struct event *sigint, *sigterm;
	int rc;

	memset(&wr, 0, sizeof(wr));
	wr.o = o;
	wr.d = d;
	if ((wr.dir = outbox_dir(&d->cfg)) == NULL) {
		log_errorx(_("no outbox: set [client] outbox or HOME"));
		return EXIT_FAIL;
	}
	if ((wr.run = relay_run_new(&d->cfg, d->sk, &op, o->timeout_s, 0)) ==
	    NULL) {
		free(wr.dir);
		return EXIT_FAIL;
	}
	relay_run_keepalive(wr.run, (int)o->interval_s, (int)o->dead_s);
	/* for ever, as said above; --once ends when every relay refused */
	if (!o->once)
		relay_run_persist(wr.run);
	wr.queue = resend_new(wr.dir, d->cfg.nrelays, &hooks);
	wr.printed = seen_new(WATCH_PRINTED_MAX);
	wr.watching = seen_new(OUTBOX_LIST_MAX * 4);
	sigint =
	    evsignal_new(relay_run_base(wr.run), SIGINT, watch_signal, &wr);
	sigterm =
	    evsignal_new(relay_run_base(wr.run), SIGTERM, watch_signal, &wr);
	if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) ||
	    evsignal_add(sigterm, NULL))
		log_fatalx("cannot handle signals");
	rc = relay_run_go(wr.run);
	event_free(sigint);
	event_free(sigterm);
	relay_run_free(wr.run);
	resend_free(wr.queue);
	seen_free(wr.printed);
	seen_free(wr.watching);
	free(wr.dir);
	return rc;
}

int
cmd_watch(int argc, char **argv, struct globals *g)
{
	struct watch_opts o;
	struct device d;
	int rc;

	if ((rc = watch_parse(argc, argv, g, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	/* Long-running: into a file or a journal it keeps log lines, with
	 * the time of each (alertctl(1), DIAGNOSTICS). */
	if (!isatty(STDERR_FILENO))
		log_set_human(0);
	if (device_open(&d, o.config) == 0)
		rc = watch_go(&o, &d);
	else
		rc = EXIT_FAIL;
	device_close(&d);
	return rc;
}
