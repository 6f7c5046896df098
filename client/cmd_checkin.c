/*
 * alertctl checkin start|extend|done: a timer for a risky visit
 * (docs/PROTOCOL.md, "Check-in timers").  start prepares the alert the
 * relay raises if the official does not check in: signed and sealed to
 * the recipients like any alert (alert_seal.h), created at the release
 * time, so the relay holds it without being able to read it.  Every
 * request is signed by the device (checkin_req.h).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "alert_seal.h"
#include "alertctl.h"
#include "b64.h"
#include "checkin_pin.h"
#include "checkin_req.h"
#include "checkin_state.h"
#include "device.h"
#include "frame.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "relay_request.h"
#include "usage.h"
#include "xmalloc.h"

#define CHECKIN_GRACE_DEFAULT_MIN 10.0

struct checkin_opts {
	enum checkin_op op;
	const char *config;
	long timeout_s;
	double minutes, grace; /* < 0: not given */
	const char *message;
};

/* A duration in minutes; fractions allowed (0.1 is 6 s, for tests). */
static int
checkin_minutes(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !isfinite(v) || v < 0 || v > 10080)
		return -1;
	*out = v;
	return 0;
}

/* Seconds of a non-negative number of them, rounded (no libm). */
static long
checkin_round(double seconds)
{
	return (long)(seconds + 0.5);
}

enum { OPT_MINUTES = DEVICE_GETOPT_NEXT, OPT_GRACE, OPT_MESSAGE };

static int
checkin_parse(int argc, char **argv, const struct globals *g,
    struct checkin_opts *o)
{
	static const struct option longopts[] = {
	    {"minutes", required_argument, NULL, OPT_MINUTES},
	    {"grace", required_argument, NULL, OPT_GRACE},
	    {"message", required_argument, NULL, OPT_MESSAGE},
	    DEVICE_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int ch, rc;

	memset(o, 0, sizeof(*o));
	o->config = g->config;
	o->timeout_s = DEVICE_TIMEOUT_DEFAULT;
	o->minutes = o->grace = -1;
	if (argc < 2)
		return usage_error("checkin",
		    _("expected start, extend or done"));
	if (strcmp(argv[1], "start") == 0)
		o->op = CHECKIN_START;
	else if (strcmp(argv[1], "extend") == 0)
		o->op = CHECKIN_EXTEND;
	else if (strcmp(argv[1], "done") == 0)
		o->op = CHECKIN_DONE;
	else if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage_print("checkin", stdout);
		return -1;
	} else
		return usage_error("checkin", _("unknown subcommand '%s'"),
		    argv[1]);
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt_long(argc, argv, DEVICE_SHORTOPTS, longopts,
	            NULL)) != -1) {
		if (ch == OPT_MINUTES || ch == OPT_GRACE) {
			if (checkin_minutes(optarg,
			        ch == OPT_MINUTES ? &o->minutes : &o->grace) !=
			    0)
				return usage_error("checkin",
				    _("--minutes and --grace are minutes, "
				      "0..10080"));
		} else if (ch == OPT_MESSAGE)
			o->message = optarg;
		else if ((rc = device_opt("checkin", ch, &o->config,
		              &o->timeout_s)) != 0)
			return rc;
	}
	if (optind != argc)
		return usage_error("checkin", _("unexpected argument '%s'"),
		    argv[optind]);
	if (o->op != CHECKIN_DONE && o->minutes <= 0)
		return usage_error("checkin", _("%s needs --minutes N (N > 0)"),
		    checkin_op_name(o->op));
	if (o->op == CHECKIN_DONE &&
	    (o->minutes >= 0 || o->grace >= 0 || o->message != NULL))
		return usage_error("checkin", _("done takes no other option"));
	return 0;
}

/* For people: the local time with its zone. */
static const char *
checkin_local(const char *rfc3339, char *buf, size_t len)
{
	struct tm tm;
	time_t t;

	if (time_rfc3339_parse(rfc3339, &t) != 0 ||
	    localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, len, "%s", rfc3339);
	return buf;
}

/* The alert the relay raises if nobody checks in: its text (kept while
 * this runs, to seal it again), its sealing and the version of the
 * directory it was sealed to. */
struct checkin_alert {
	struct alert a;
	struct sealed_alert s;
	long long dir;
};

static void
checkin_alert_clear(struct checkin_alert *ca)
{
	alert_clear(&ca->a);
	alert_seal_free(&ca->s);
}

/* The alert the relay raises if nobody checks in, sealed now. */
static int
checkin_prepare(const struct device *d, const struct checkin_state *st,
    struct checkin_req *r, struct checkin_alert *ca)
{
	struct alert *a = &ca->a;
	char err[256];
	int rc;

	memset(a, 0, sizeof(*a));
	alert_id_generate(a->alert_id);
	memcpy(a->device_id, d->cfg.device_id, sizeof(a->device_id));
	snprintf(a->alert_type, sizeof(a->alert_type), "missed_checkin");
	memcpy(a->created_at, st->release_at, sizeof(a->created_at));
	a->message = st->message != NULL ? xstrdup(st->message) : NULL;
	ca->dir = d->cfg.dir_version;
	rc = alert_seal(a, &d->cfg, d->sk, &ca->s, err, sizeof(err));
	if (rc != 0)
		log_warnx(_("the check-in's alert cannot be prepared: %s"),
		    err);
	else
		memcpy(r->alert_id, a->alert_id, sizeof(r->alert_id));
	return rc;
}

/* {"type":"checkin","checkin":B64,"checkin_sig":B64[,"envelope","sig"]} */
static json_t *
checkin_frame(const struct device *d, const struct checkin_req *r,
    const struct sealed_alert *sealed)
{
	unsigned char sig[crypto_sign_BYTES];
	char *text = checkin_req_encode(r), *c64, *s64;
	json_t *f;

	if (text == NULL)
		log_fatalx("cannot encode the check-in");
	checkin_sign(text, strlen(text), d->sk, sig);
	f = frame_signed("checkin", "checkin", text, sig, sizeof(sig),
	    "checkin_sig");
	free(text);
	if (sealed != NULL) {
		c64 = b64_encode(sealed->envelope, strlen(sealed->envelope));
		s64 = b64_encode(sealed->sig, sizeof(sealed->sig));
		json_object_set_new(f, "envelope", json_string(c64));
		json_object_set_new(f, "sig", json_string(s64));
		free(c64);
		free(s64);
	}
	return f;
}

struct checkin_run {
	const struct checkin_opts *o;
	const struct device *d;
	struct checkin_state *st;
	int refused; /* the relay said no for good: nothing is running */
	const struct checkin_req *r;
	struct checkin_alert *ca; /* NULL for done */
	json_t *frame;
	int sent; /* a relay may hold the frame: it stays as it is */
};

/* Each attempt, once its session verified the relay's directory: a
 * check-in not sent yet, whose alert was sealed to an older directory,
 * has it sealed again to this one (same alert_id, same release time),
 * so that the relay keeps for the release what the recipients of the
 * newer directory, and only they, can open. */
static const json_t *
checkin_frame_now(void *arg)
{
	struct checkin_run *cr = arg;
	struct checkin_alert *ca = cr->ca;
	const struct client_config *cfg = &cr->d->cfg;
	struct sealed_alert fresh;
	char err[256];

	if (ca == NULL || cr->sent || cfg->nrecipients == 0 ||
	    cfg->dir_version <= ca->dir)
		;
	else if (alert_seal(&ca->a, cfg, cr->d->sk, &fresh, err, sizeof(err)) !=
	    0)
		log_warnx(_("the check-in's alert cannot be prepared: %s"),
		    err);
	else {
		log_warnx(_(MSG_RESEALED), ca->a.alert_id, cfg->dir_version,
		    ca->dir);
		alert_seal_free(&ca->s);
		ca->s = fresh;
		ca->dir = cfg->dir_version;
		json_decref(cr->frame);
		cr->frame = checkin_frame(cr->d, cr->r, &ca->s);
	}
	cr->sent = 1;
	return cr->frame;
}

static int
checkin_answered(const json_t *answer, void *arg)
{
	struct checkin_run *cr = arg;
	char t1[64], t2[64];

	(void)answer;
	if (cr->o->op == CHECKIN_DONE) {
		checkin_state_remove(&cr->d->cfg);
		out_line("%s", _("Check-in done: no alarm will be raised."));
		return EXIT_OK;
	}
	if (checkin_state_save(&cr->d->cfg, cr->d->sk, cr->st) != 0)
		log_warnx("%s",
		    _("the check-in runs, but this device could not keep a "
		      "record of it; alertctl checkin done will not find "
		      "it"));
	out_line(cr->o->op == CHECKIN_START
	        ? _("Check-in started: check in before %s with: alertctl "
	            "checkin done")
	        : _("Check-in extended: check in before %s with: alertctl "
	            "checkin done"),
	    checkin_local(cr->st->deadline, t1, sizeof(t1)));
	out_line(_("Otherwise the alarm goes out at %s, even when this "
	           "device is off or lost."),
	    checkin_local(cr->st->release_at, t2, sizeof(t2)));
	out_line("checkin_id=%s", cr->st->checkin_id);
	return EXIT_OK;
}

/* Refusals the person must understand, in plain words; the rest the
 * run explains (and retries where that can help). */
static int
checkin_refused(const json_t *o, void *arg)
{
	struct checkin_run *cr = arg;
	const char *code = json_str(o, "code"), *msg = json_str(o, "message");
	const char *aid = json_str(o, "alert_id");
	char clean[40];

	if (code == NULL)
		return -1;
	/* Refused: the relay stored nothing (unavailable: it may have). */
	cr->refused = strcmp(code, "unavailable") != 0;
	if (strcmp(code, "checkin_missed") == 0) {
		checkin_state_remove(&cr->d->cfg);
		out_clean(aid != NULL ? aid : "?", clean, sizeof(clean));
		log_warnx(_("Too late: the deadline has passed and the alarm "
		            "has gone out (alert %s). If you are safe, cancel "
		            "it: alertctl cancel %s"),
		    clean, clean);
		return EXIT_FAIL;
	}
	if (strcmp(code, "checkin_not_raised") == 0) {
		/* Nobody was alerted: the official must not look for an
		 * alarm to cancel, and someone should find out why. */
		checkin_state_remove(&cr->d->cfg);
		log_warnx("%s",
		    _("Too late: the deadline has passed, but the relay could "
		      "not raise the alarm. Nobody has been alerted. Tell "
		      "your administrator."));
		return EXIT_FAIL;
	}
	if (strcmp(code, "unknown_checkin") == 0) {
		checkin_state_remove(&cr->d->cfg);
		log_warnx("%s",
		    _("The relay knows no running check-in of this "
		      "device."));
		return EXIT_FAIL;
	}
	if (strcmp(code, "checkin_active") == 0) {
		log_warnx("%s",
		    _("Another check-in of this device is still running at "
		      "the relay."));
		return EXIT_FAIL;
	}
	if (strcmp(code, "bad_frame") == 0 && msg != NULL &&
	    strcmp(msg, "unknown frame type") == 0) {
		log_warnx("%s",
		    _("This relay does not support check-ins; ask "
		      "your administrator."));
		return EXIT_FAIL;
	}
	return -1;
}

static int
checkin_send(const struct checkin_opts *o, struct device *d,
    struct checkin_state *st, const struct checkin_req *r,
    struct checkin_alert *ca)
{
	struct checkin_run cr = {o, d, st, 0, r, ca, NULL, 0};
	struct relay_request req;
	char failure[64];
	int rc;

	cr.frame = checkin_frame(d, r, ca != NULL ? &ca->s : NULL);
	snprintf(failure, sizeof(failure), "checkin %s",
	    checkin_op_name(o->op));
	memset(&req, 0, sizeof(req));
	req.frame = cr.frame;
	req.answer = "checkin";
	req.failure = failure;
	req.answered = checkin_answered;
	req.refused = checkin_refused;
	req.frame_now = checkin_frame_now;
	req.arg = &cr;
	rc = relay_request_run(d, o->timeout_s, &req);
	json_decref(cr.frame);
	if (rc == EXIT_OK || o->op == CHECKIN_DONE)
		return rc;
	if (cr.refused && o->op == CHECKIN_START)
		checkin_state_remove(&d->cfg);
	else if (o->op == CHECKIN_START)
		/* The relay may have it all the same: it stays endable. */
		log_warnx("%s",
		    _("If the relay got it after all, end it with: "
		      "alertctl checkin done"));
	log_warnx("%s",
	    _("CHECK-IN NOT SET: no alarm goes out if you do not "
	      "come back. Try again, or tell someone where you "
	      "are."));
	return rc;
}

/* The timer's times and the alert for them. */
static int
checkin_timer(const struct checkin_opts *o, const struct device *d,
    struct checkin_state *st, struct checkin_req *r, struct checkin_alert *ca)
{
	time_t now = time(NULL);
	time_t deadline = now + (time_t)checkin_round(o->minutes * 60);
	time_t release = deadline + (time_t)st->grace_s;

	if (deadline <= now)
		deadline = now + 1;
	if (release < deadline)
		release = deadline;
	time_rfc3339(st->deadline, deadline);
	time_rfc3339(st->release_at, release);
	memcpy(r->deadline, st->deadline, sizeof(r->deadline));
	memcpy(r->release_at, st->release_at, sizeof(r->release_at));
	return checkin_prepare(d, st, r, ca);
}

static int
checkin_go(const struct checkin_opts *o, struct device *d)
{
	struct checkin_state st;
	struct checkin_req r;
	struct checkin_alert ca;
	int have, rc;

	memset(&r, 0, sizeof(r));
	memset(&ca, 0, sizeof(ca));
	if ((have = checkin_state_load(&d->cfg, d->sk, &st)) < 0)
		return EXIT_FAIL;
	if (o->op == CHECKIN_START && have) {
		char t[64];

		log_warnx(_("A check-in is already running (until %s). End "
		            "it first: alertctl checkin done"),
		    checkin_local(st.deadline, t, sizeof(t)));
		checkin_state_clear(&st);
		return EXIT_FAIL;
	}
	if (o->op != CHECKIN_START && !have) {
		log_warnx("%s", _("No check-in is running on this device."));
		return EXIT_FAIL;
	}
	if (o->op == CHECKIN_START) {
		alert_id_generate(st.checkin_id);
		st.message = o->message != NULL ? xstrdup(o->message) : NULL;
		st.grace_s = (long)checkin_round(
		    (o->grace >= 0 ? o->grace : CHECKIN_GRACE_DEFAULT_MIN) *
		    60);
	} else if (o->op == CHECKIN_EXTEND && o->grace >= 0)
		st.grace_s = (long)checkin_round(o->grace * 60);
	if (o->op == CHECKIN_EXTEND && o->message != NULL) {
		checkin_state_clear(
		    &(struct checkin_state){.message = st.message});
		st.message = xstrdup(o->message);
	}
	r.op = o->op;
	memcpy(r.checkin_id, st.checkin_id, sizeof(r.checkin_id));
	memcpy(r.device_id, d->cfg.device_id, sizeof(r.device_id));
	time_rfc3339(r.created_at, time(NULL));
	rc = EXIT_FAIL;
	if (o->op != CHECKIN_START && checkin_pin(d, &r) != 0)
		; /* a wrong PIN: nothing goes out */
	else if (o->op == CHECKIN_DONE)
		rc = checkin_send(o, d, &st, &r, NULL);
	else if (checkin_timer(o, d, &st, &r, &ca) == 0) {
		/* Kept before it goes out: an answer lost on the way must
		 * not leave a timer the device cannot end. */
		if (o->op == CHECKIN_START &&
		    checkin_state_save(&d->cfg, d->sk, &st) != 0)
			rc = EXIT_FAIL;
		else
			rc = checkin_send(o, d, &st, &r, &ca);
	}
	checkin_alert_clear(&ca);
	checkin_state_clear(&st);
	return rc;
}

int
cmd_checkin(int argc, char **argv, struct globals *g)
{
	struct checkin_opts o;
	struct device d;
	char why[512];
	int rc;

	if ((rc = checkin_parse(argc, argv, g, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	if (device_open(&d, o.config) != 0)
		rc = EXIT_FAIL;
	else if (o.op != CHECKIN_DONE && d.cfg.has_org &&
	    d.cfg.nrecipients == 0 &&
	    device_fetch_directory(&d, o.timeout_s, why, sizeof(why)) != 0) {
		log_warnx(_("no recipients to prepare the alert for: %s"), why);
		rc = EXIT_FAIL;
	} else
		rc = checkin_go(&o, &d);
	device_close(&d);
	return rc;
}
