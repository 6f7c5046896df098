/*
 * send --follow (follow.h): one relay run whose operation sends a
 * "location" frame every interval while its session lives, and ends
 * when the relay says the alert is closed or a bound is reached.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ack_verify.h"
#include "alert_seal.h"
#include "alertctl.h"
#include "follow.h"
#include "follow_gps.h"
#include "frame.h"
#include "i18n.h"
#include "log.h"
#include "out.h"
#include "receipt.h"
#include "relay_run.h"

/* A fix this far from the device's clock is a replayed or stale one:
 * its time is replaced by the clock's (the relay refuses times beyond
 * its max_clock_skew). */
#define FOLLOW_FIX_SKEW_S 60
/* No position from gpsd for this many intervals: said once. */
#define FOLLOW_SILENT_TICKS 3

struct follow {
	struct device *d;
	const struct alert *a;
	const struct follow_params *p;
	struct relay_run *run;
	struct relay_session *live; /* the session ready() last saw */
	unsigned long live_no;
	struct follow_gps *gps;
	struct event *tick;
	time_t started;
	time_t last_sent_fix; /* of the last fix sent */
	long sent; /* answered by the relay */
	int waiting; /* a frame not answered yet */
	int silent; /* ticks without a new fix */
	enum follow_end end;
};

void
follow_params_init(struct follow_params *p, const struct client_config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->interval_s = cfg->follow_interval > 0 ? cfg->follow_interval
	                                         : FOLLOW_INTERVAL_DEFAULT;
	p->max_updates = cfg->follow_max_updates > 0
	    ? cfg->follow_max_updates
	    : FOLLOW_MAX_UPDATES_DEFAULT;
	p->max_time_s = cfg->follow_max_time > 0 ? cfg->follow_max_time
	                                         : FOLLOW_MAX_TIME_DEFAULT;
	p->gpsd = cfg->gpsd != NULL ? cfg->gpsd : FOLLOW_GPSD_DEFAULT;
}

static struct relay_session *
follow_session(const struct follow *f)
{
	struct relay_session *s = relay_run_session(f->run);

	return s != NULL && s == f->live &&
	        relay_run_attempt_no(f->run) == f->live_no
	    ? s
	    : NULL;
}

static void
follow_stop(struct follow *f, struct relay_session *s, enum follow_end end)
{
	f->end = end;
	relay_session_done(s, end == FOLLOW_FAILED ? EXIT_FAIL : EXIT_OK);
}

/* The position now: fixed, or gpsd's newest fix not sent yet. */
static int
follow_position(struct follow *f, struct follow_fix *fix)
{
	time_t now = time(NULL);

	if (f->p->fixed) {
		fix->lat = f->p->lat;
		fix->lon = f->p->lon;
		fix->has_accuracy = f->p->has_accuracy;
		fix->accuracy_m = f->p->accuracy_m;
		fix->t = now;
		return 1;
	}
	if (!follow_gps_take(f->gps, fix))
		return 0;
	if (fix->t < now - FOLLOW_FIX_SKEW_S ||
	    fix->t > now + FOLLOW_FIX_SKEW_S)
		fix->t = now;
	/* one update per second of fix time: created_at must grow */
	if (fix->t <= f->last_sent_fix)
		fix->t = f->last_sent_fix + 1;
	return 1;
}

/* The inner alert again with the new position and the fix's time,
 * sealed like the alert; the envelope signed under the location
 * context, so it can never pass as an alert. */
static json_t *
follow_frame(const struct follow *f, const struct follow_fix *fix)
{
	struct alert la = *f->a;
	struct sealed_alert sealed;
	unsigned char sig[crypto_sign_BYTES];
	char err[256];
	json_t *frame;

	la.update = 1; /* signed inside: never to be shown as the alert */
	la.has_location = 1;
	la.lat = fix->lat;
	la.lon = fix->lon;
	la.has_accuracy = fix->has_accuracy;
	la.accuracy_m = fix->accuracy_m;
	time_rfc3339(la.created_at, fix->t);
	if (alert_seal(&la, &f->d->cfg, f->d->sk, &sealed, err, sizeof(err)) !=
	    0) {
		log_warnx("%s", err);
		return NULL;
	}
	sig_sign_ctx(SIGCTX_LOCATION, sealed.envelope, strlen(sealed.envelope),
	    f->d->sk, sig);
	frame = frame_signed("location", "envelope", sealed.envelope, sig,
	    sizeof(sig), "sig");
	alert_seal_free(&sealed);
	return frame;
}

static void
follow_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct follow *f = arg;
	struct relay_session *s = follow_session(f);
	struct follow_fix fix;
	json_t *frame;

	(void)fd;
	(void)what;
	if (s == NULL || f->waiting)
		return;
	if (time(NULL) - f->started >= f->p->max_time_s) {
		out_line(_("Location no longer sent: the time limit of %ld s "
		           "is reached."),
		    f->p->max_time_s);
		follow_stop(f, s, FOLLOW_BOUND);
		return;
	}
	if (f->gps != NULL && follow_gps_lost(f->gps)) {
		log_warnx(_("gpsd stopped: your location is no longer sent. "
		            "Your alert itself is not affected."));
		follow_stop(f, s, FOLLOW_NO_SOURCE);
		return;
	}
	if (!follow_position(f, &fix)) {
		if (++f->silent == FOLLOW_SILENT_TICKS)
			log_warnx(_("No position from gpsd for %ld s (no GPS "
			            "fix?): your location is not sent yet. "
			            "Your alert itself is not affected."),
			    f->silent * f->p->interval_s);
		return;
	}
	f->silent = 0;
	if ((frame = follow_frame(f, &fix)) == NULL)
		return;
	if (relay_session_send(s, frame) == 0) {
		f->waiting = 1;
		f->last_sent_fix = fix.t;
	}
	json_decref(frame);
}

static void
follow_ready(struct relay_session *s, void *arg)
{
	struct follow *f = arg;
	struct timeval tv = {f->p->interval_s, 0};

	if (!relay_session_has(s, "location")) {
		log_warnx(_("Relay %s cannot take location updates (an older "
		            "version): your location is not sent. Your alert "
		            "itself is not affected."),
		    relay_session_label(s));
		follow_stop(f, s, FOLLOW_UNSUPPORTED);
		return;
	}
	f->live = s;
	f->live_no = relay_run_attempt_no(f->run);
	f->waiting = 0;
	relay_session_keepalive(s, _("the alert to close"));
	evtimer_add(f->tick, &tv);
	follow_tick_cb(-1, 0, f); /* the first one at once */
}

/* The relay's word on an update, or a receipt that closes the alert. */
static void
follow_error(struct follow *f, struct relay_session *s, const json_t *o)
{
	const char *code = json_str(o, "code"), *state = json_str(o, "state");
	char word[RECEIPT_WORD_MAX];

	if (code == NULL)
		code = "";
	f->waiting = 0;
	if (strcmp(code, "alert_closed") == 0) {
		out_line(_("The alert is closed (%s): your location is no "
		           "longer sent."),
		    receipt_word(state != NULL ? state : "closed", word,
		        sizeof(word)));
		follow_stop(f, s, FOLLOW_CLOSED);
	} else if (strcmp(code, "limit_reached") == 0) {
		out_line(_("Location no longer sent: the relay's limit of "
		           "updates for this alert is reached."));
		follow_stop(f, s, FOLLOW_BOUND);
	} else if (strcmp(code, "rate_limited") == 0 ||
	    strcmp(code, "stale") == 0)
		log_debug("location update refused: %s", code);
	else if (strcmp(code, "unknown_alert") == 0) {
		log_warnx(_("The relay does not know alert %s: no location "
		            "is sent."),
		    f->a->alert_id);
		follow_stop(f, s, FOLLOW_FAILED);
	} else
		relay_session_error(s, o);
}

/* Only a verified acknowledgement or this device's own signed cancel
 * ends the updates; "expired" and the relay's word on the rest do not
 * (a relay that stopped escalating answers the next update with
 * alert_closed anyway). */
static void
follow_receipt(struct follow *f, struct relay_session *s, const json_t *o,
    const char *ev)
{
	char word[RECEIPT_WORD_MAX];

	if (ack_verify_closes(f->d->av, o, f->a->alert_id,
	        f->p->accept_relay)) {
		out_line(_("The alert is closed (%s): your location is no "
		           "longer sent."),
		    receipt_word(ev, word, sizeof(word)));
		follow_stop(f, s, FOLLOW_CLOSED);
	} else if (strcmp(ev, "cancelled") == 0)
		out_line(_("The relay says the alert is cancelled, but not "
		           "with this device's signed cancel: your location is "
		           "still sent."));
}

static void
follow_frame_cb(struct relay_session *s, const char *type, const json_t *o,
    void *arg)
{
	struct follow *f = arg;
	const char *aid = json_str(o, "alert_id");
	const char *ev = json_str(o, "event");
	char when[64], tbuf[RFC3339_LEN];

	/* other alerts' receipts; an error without an alert is ours */
	if (aid == NULL ? strcmp(type, "error") != 0
	                : strcmp(aid, f->a->alert_id) != 0)
		return;
	if (strcmp(type, "located") == 0) {
		f->waiting = 0;
		f->sent++;
		time_rfc3339(tbuf, f->last_sent_fix);
		receipt_time(tbuf, RECEIPT_TIME_SHORT, when, sizeof(when));
		out_line(_("Location sent (%ld, fix of %s)."), f->sent, when);
		if (f->sent >= f->p->max_updates) {
			out_line(_("Location no longer sent: the limit of %ld "
			           "updates is reached."),
			    f->p->max_updates);
			follow_stop(f, s, FOLLOW_BOUND);
		}
	} else if (strcmp(type, "error") == 0)
		follow_error(f, s, o);
	else if (strcmp(type, "receipt") == 0 && ev != NULL)
		follow_receipt(f, s, o, ev);
}

static void
follow_failed(void *arg, int deadline, const char *why)
{
	struct follow *f = arg;

	(void)deadline;
	f->end = FOLLOW_FAILED;
	log_warnx(_("Location no longer sent: %s. Your alert itself is not "
	            "affected."),
	    why);
}

static enum follow_end
follow_go(struct follow *f)
{
	struct relay_op op = {follow_ready, follow_frame_cb, follow_failed, f,
	    NULL};

	if ((f->run = relay_run_new(&f->d->cfg, f->d->sk, &op, f->p->max_time_s,
	         0)) == NULL)
		return FOLLOW_FAILED;
	if (!f->p->fixed) {
		char err[256];

		f->gps = follow_gps_open(relay_run_base(f->run), f->p->gpsd,
		    err, sizeof(err));
		if (f->gps == NULL) {
			log_warnx(_("Cannot reach gpsd at %s (%s): your "
			            "location "
			            "is not sent. Your alert itself is not "
			            "affected."),
			    f->p->gpsd, err);
			relay_run_free(f->run);
			return FOLLOW_NO_SOURCE;
		}
	}
	f->tick = event_new(relay_run_base(f->run), -1, EV_PERSIST,
	    follow_tick_cb, f);
	f->started = time(NULL);
	(void)relay_run_go(f->run);
	event_free(f->tick);
	follow_gps_free(f->gps);
	relay_run_free(f->run);
	return f->end;
}

enum follow_end
follow_run(struct device *d, const struct alert *a,
    const struct follow_params *p)
{
	struct follow f;

	memset(&f, 0, sizeof(f));
	f.d = d;
	f.a = a;
	f.p = p;
	f.end = FOLLOW_FAILED;
	out_line(_("Your location is sent every %ld s while the alert is "
	           "open."),
	    p->interval_s);
	return follow_go(&f);
}
