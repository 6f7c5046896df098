/*
 * alertctl send: build, sign and seal an alert, keep it in the outbox,
 * deliver it, and with --wait follow it until a person acknowledged it.
 *
 * Nothing touches the network before the alert is sealed (to the
 * recipients of the newest signed directory this device holds: from its
 * enrollment bundle, or verified since) and fsync'd in the outbox, so an
 * alert raised while no relay can be reached is never lost: this send,
 * the next one or watch delivers it, same alert_id, same bytes.  Only a
 * device that holds no directory at all (enrolled from a bundle that
 * carried none) must fetch one first.
 *
 * When it gives up, the last line says so in plain words (verdict.h).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "alert.h"
#include "alert_seal.h"
#include "ack_verify.h"
#include "alertctl.h"
#include "client_config.h"
#include "device.h"
#include "follow.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "receipt.h"
#include "outbox.h"
#include "relay_run.h"
#include "resend.h"
#include "trust.h"
#include "usage.h"
#include "verdict.h"
#include "watch.h"
#include "xmalloc.h"

#define SEND_WAIT_TIMEOUT_MAX (365 * 86400)

struct send_opts {
	const char *config;
	const char *type;
	const char *message;
	const char *lat, *lon, *accuracy;
	const char *alert_id;
	long timeout_s;
	enum watch_until until;
	long wait_timeout_s; /* 0: forever */
	int drill; /* --drill: a rehearsal, marked OEFENING everywhere */
	int follow; /* --follow: later positions while open (follow.h) */
	long follow_interval; /* 0: the configuration's */
	const char *gpsd;
	int accept_relay; /* --accept-relay-ack (ack_verify.h) */
};

enum {
	OPT_LAT = DEVICE_GETOPT_NEXT,
	OPT_LON,
	OPT_ACCURACY,
	OPT_ALERT_ID,
	OPT_WAIT,
	OPT_WAIT_TIMEOUT,
	OPT_DRILL,
	OPT_FOLLOW,
	OPT_FOLLOW_INTERVAL,
	OPT_GPSD,
	OPT_ACCEPT_RELAY_ACK,
};

/* One sending: the unsent alerts of the outbox and this one (the last
 * of the queue) until accepted, then (--wait) its receipts. */
struct send_run {
	const struct send_opts *o;
	struct device *d;
	const struct alert *a; /* the plaintext, for a new sealing */
	const char *alert_id;
	struct resend *queue;
	size_t mine; /* this alert's index in queue */
	struct relay_run *run;
	struct watch *watch; /* NULL without --wait */
	int accepted;
	int resealed;
	long wait_s; /* --wait-timeout, else the alert's max_age; 0: none */
	char why[1024]; /* why it gave up, for the last line */
	char code[32]; /* the relay's error code, if one ended it */
};

static int
cmd_send_double(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return *s != '\0' && *end == '\0' && isfinite(*out) ? 0 : -1;
}

static int
cmd_send_check(const struct send_opts *o)
{
	if (o->type == NULL)
		return usage_error("send", _("--type is required"));
	if (!alert_type_valid(o->type))
		return usage_error("send",
		    _("--type must be panic, threat or "
		      "test"));
	if ((o->lat == NULL) != (o->lon == NULL))
		return usage_error("send", _("--lat and --lon go together"));
	if (o->accuracy != NULL && o->lat == NULL)
		return usage_error("send",
		    _("--accuracy needs --lat and --lon"));
	if (o->message != NULL && strlen(o->message) > ALERT_MESSAGE_MAX)
		return usage_error("send",
		    _("--message is longer than %d bytes"), ALERT_MESSAGE_MAX);
	if (o->alert_id != NULL && !alert_id_valid(o->alert_id))
		return usage_error("send",
		    _("--alert-id must be 32 lowercase "
		      "hex digits"));
	if ((o->follow_interval != 0 || o->gpsd != NULL) && !o->follow)
		return usage_error("send",
		    _("--follow-interval and --gpsd need --follow"));
	if (o->follow && o->until == WATCH_ACK)
		return usage_error("send",
		    _("--follow already goes on until the alert is closed: "
		      "not with --wait ack"));
	if (o->wait_timeout_s != 0 && o->until == WATCH_NONE)
		return usage_error("send",
		    _("--wait-timeout needs --wait ack or --wait delivered"));
	return 0;
}

static int
cmd_send_parse(int argc, char **argv, struct globals *g, struct send_opts *o)
{
	static const struct option longopts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"message", required_argument, NULL, 'm'},
	    {"lat", required_argument, NULL, OPT_LAT},
	    {"lon", required_argument, NULL, OPT_LON},
	    {"accuracy", required_argument, NULL, OPT_ACCURACY},
	    {"alert-id", required_argument, NULL, OPT_ALERT_ID},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
	    {"drill", no_argument, NULL, OPT_DRILL},
	    {"follow", no_argument, NULL, OPT_FOLLOW},
	    {"follow-interval", required_argument, NULL, OPT_FOLLOW_INTERVAL},
	    {"gpsd", required_argument, NULL, OPT_GPSD},
	    {"accept-relay-ack", no_argument, NULL, OPT_ACCEPT_RELAY_ACK},
	    DEVICE_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int ch, rc;

	memset(o, 0, sizeof(*o));
	o->config = g->config;
	o->timeout_s = DEVICE_TIMEOUT_DEFAULT;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "t:m:" DEVICE_SHORTOPTS, longopts,
	            NULL)) != -1) {
		switch (ch) {
		case 't':
			o->type = optarg;
			break;
		case 'm':
			o->message = optarg;
			break;
		case OPT_LAT:
			o->lat = optarg;
			break;
		case OPT_LON:
			o->lon = optarg;
			break;
		case OPT_ACCURACY:
			o->accuracy = optarg;
			break;
		case OPT_ALERT_ID:
			o->alert_id = optarg;
			break;
		case OPT_WAIT:
			if (watch_until_parse(optarg, &o->until) != 0)
				return usage_error("send",
				    _("--wait must be ack, delivered or none"));
			break;
		case OPT_DRILL:
			o->drill = 1;
			break;
		case OPT_FOLLOW:
			o->follow = 1;
			break;
		case OPT_FOLLOW_INTERVAL:
			if (parse_long(optarg, FOLLOW_INTERVAL_MIN, 3600,
			        &o->follow_interval) != 0)
				return usage_error("send",
				    _("--follow-interval must be %d..3600 "
				      "seconds"),
				    FOLLOW_INTERVAL_MIN);
			break;
		case OPT_GPSD:
			o->gpsd = optarg;
			break;
		case OPT_ACCEPT_RELAY_ACK:
			o->accept_relay = 1;
			break;
		case OPT_WAIT_TIMEOUT:
			if (parse_long(optarg, 1, SEND_WAIT_TIMEOUT_MAX,
			        &o->wait_timeout_s) != 0)
				return usage_error("send",
				    _("--wait-timeout must be 1..%d seconds"),
				    SEND_WAIT_TIMEOUT_MAX);
			break;
		default:
			rc = device_opt("send", ch, &o->config, &o->timeout_s);
			if (rc != 0)
				return rc;
		}
	}
	if (optind != argc)
		return usage_error("send", _("unexpected argument '%s'"),
		    argv[optind]);
	return cmd_send_check(o);
}

static int
cmd_send_location(const struct send_opts *o, struct alert *a)
{
	if (o->lat == NULL)
		return 0;
	a->has_location = 1;
	a->has_accuracy = o->accuracy != NULL;
	if (cmd_send_double(o->lat, &a->lat) != 0 ||
	    cmd_send_double(o->lon, &a->lon) != 0 ||
	    (a->has_accuracy &&
	        cmd_send_double(o->accuracy, &a->accuracy_m) != 0) ||
	    !alert_location_valid(a->lat, a->lon, a->has_accuracy,
	        a->accuracy_m))
		return usage_error("send",
		    _("bad position: --lat -90..90, "
		      "--lon -180..180, --accuracy >= 0"));
	return 0;
}

static void
cmd_send_alert(const struct send_opts *o, const struct client_config *cfg,
    struct alert *a)
{
	if (o->alert_id != NULL)
		memcpy(a->alert_id, o->alert_id, sizeof(a->alert_id));
	else
		alert_id_generate(a->alert_id);
	memcpy(a->device_id, cfg->device_id, sizeof(a->device_id));
	snprintf(a->alert_type, sizeof(a->alert_type), "%s", o->type);
	time_rfc3339(a->created_at, time(NULL));
	a->drill = o->drill;
	a->message = o->message != NULL ? xstrdup(o->message) : NULL;
}

/* The stored envelope for a resend (1), else a new sealing, stored
 * and fsync'd (0); -1 with why. */
static int
cmd_send_seal(const struct send_opts *o, const struct client_config *cfg,
    const struct alert *a, const unsigned char *sk, struct sealed_alert *s,
    char *why, size_t whylen)
{
	unsigned char mac[OUTBOX_MAC_BYTES];
	char *dir = outbox_dir(cfg), err[256];
	int rc = 0, stored = 0;

	outbox_mac(a, cfg, sk, mac);
	if (o->alert_id != NULL && dir != NULL)
		stored = outbox_load(dir, a->alert_id, mac,
		    sk + crypto_sign_SEEDBYTES, s);
	if (stored == 1) {
		rc = 1;
		goto out;
	}
	if (alert_seal(a, cfg, sk, s, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		snprintf(why, whylen, _(MSG_WHY_NOT_SEALED), err);
		rc = -1;
		goto out;
	}
	/* An entry of another alert under this id stays: the relay may
	 * have that one. */
	if (stored == 0 && (dir == NULL || outbox_save(dir, s, mac) != 0))
		log_warnx(_("alert not stored in the outbox: a resend with "
		            "--alert-id will count as a different alert"));
out:
	free(dir);
	return rc;
}

static void
cmd_send_ready(struct relay_session *s, void *arg)
{
	struct send_run *sr = arg;

	if (sr->accepted) {
		watch_ready(sr->watch, s);
		return;
	}
	if (resend_start(sr->queue, s) > 0)
		relay_session_expect(s, "accepted");
}

/* What the wait is for and how to leave it: an official under stress
 * must not think that leaving it cancels anything. */
static void
cmd_send_waiting(const struct send_run *sr)
{
	const char *what = sr->o->until == WATCH_ACK
	    ? _("waiting until a person takes alert %s")
	    : _("waiting until alert %s is delivered");
	char head[256], bound[64] = "";

	snprintf(head, sizeof(head), what, sr->alert_id);
	if (sr->wait_s > 0)
		snprintf(bound, sizeof(bound), _(" (at most %ld min)"),
		    (sr->wait_s + 59) / 60);
	out_line("%s%s; %s", head, bound,
	    _("Ctrl-C stops waiting, the alert stays open"));
}

static void
cmd_send_answered(void *arg, struct relay_session *s, size_t i, int duplicate)
{
	struct send_run *sr = arg;

	if (i != sr->mine) {
		/* An earlier alert; ours is answered after it. */
		relay_session_expect(s, "accepted");
		return;
	}
	if (sr->watch == NULL) {
		relay_session_done(s, EXIT_OK);
		return;
	}
	/* From now on the wait has its own deadline: --wait-timeout, else
	 * the alert's max_age, after which the relay stops escalating and
	 * nobody else will be asked. */
	sr->accepted = 1;
	sr->wait_s = sr->o->wait_timeout_s != 0 ? sr->o->wait_timeout_s
	                                        : resend_max_age(sr->queue, i);
	cmd_send_waiting(sr);
	relay_run_deadline(sr->run, sr->wait_s);
	watch_accepted(sr->watch, s, duplicate);
}

/* The relay refused this alert because none of the recipients it was
 * sealed to is in the relay's directory any more (a newer one than this
 * device had when it sealed it).  This send still holds the alert, so
 * it seals it again to the recipients of the directory the session just
 * verified, under the same alert_id (the relay refused it before storing
 * anything), replaces the outbox entry and sends it once more. */
static int
cmd_send_reseal(struct send_run *sr, struct relay_session *s)
{
	struct client_config *cfg = &sr->d->cfg;
	unsigned char mac[OUTBOX_MAC_BYTES];
	struct sealed_alert fresh;
	char *dir, err[256];
	long long had = cfg->dir_version;

	if (sr->resealed || !cfg->has_org || trust_open(cfg) != 0 ||
	    cfg->dir_version <= had)
		return -1;
	sr->resealed = 1;
	if (alert_seal(sr->a, cfg, sr->d->sk, &fresh, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	log_warnx(_(MSG_RESEALING), sr->alert_id, cfg->dir_version);
	outbox_mac(sr->a, cfg, sr->d->sk, mac);
	if ((dir = outbox_dir(cfg)) != NULL)
		(void)outbox_replace(dir, &fresh, mac);
	free(dir);
	ack_verify_sent(fresh.alert_id, fresh.envelope, strlen(fresh.envelope));
	resend_replace(sr->queue, sr->mine, &fresh);
	if (resend_start(sr->queue, s) == 0)
		return -1;
	relay_session_expect(s, "accepted");
	return 0;
}

static void
cmd_send_refused(void *arg, struct relay_session *s, size_t i, const char *code,
    const char *why)
{
	struct send_run *sr = arg;

	if (i != sr->mine) {
		if (resend_inflight(sr->queue) > 0)
			relay_session_expect(s, "accepted");
		return;
	}
	if (strcmp(code, "unknown_recipient") == 0 &&
	    cmd_send_reseal(sr, s) == 0)
		return;
	snprintf(sr->code, sizeof(sr->code), "%s", code);
	snprintf(sr->why, sizeof(sr->why), "%s", why);
	relay_session_done(s, EXIT_FAIL);
}

static void
cmd_send_frame(struct relay_session *s, const char *type, const json_t *o,
    void *arg)
{
	struct send_run *sr = arg;

	if (sr->accepted)
		watch_frame(sr->watch, s, type, o);
	else if (resend_frame(sr->queue, s, type, o))
		; /* hooks above */
	else if (strcmp(type, "error") == 0)
		relay_session_error(s, o);
	else if (strcmp(type, "receipt") == 0)
		; /* of an earlier alert, or one a status will tell */
	else
		relay_session_unexpected(s, type);
}

static void
cmd_send_failed(void *arg, int deadline, const char *why)
{
	struct send_run *sr = arg;

	snprintf(sr->code, sizeof(sr->code), "%s", relay_run_code(sr->run));
	if (!sr->accepted) {
		if (deadline) {
			log_warnx(_(MSG_DEADLINE), sr->o->timeout_s, why);
			log_warnx(_(MSG_RESEND_HINT), sr->alert_id);
			snprintf(sr->why, sizeof(sr->why), _(MSG_DEADLINE),
			    sr->o->timeout_s, why);
		} else {
			log_warnx(_(MSG_REFUSED), sr->alert_id, why);
			snprintf(sr->why, sizeof(sr->why), "%s", why);
		}
		return;
	}
	if (deadline) {
		log_warnx(_(MSG_WAIT_DEADLINE), sr->alert_id,
		    receipt_word(watch_until_name(sr->o->until)), sr->wait_s,
		    why);
		snprintf(sr->why, sizeof(sr->why), _(MSG_WAIT_DEADLINE),
		    sr->alert_id, receipt_word(watch_until_name(sr->o->until)),
		    sr->wait_s, why);
	} else {
		log_warnx(_(MSG_WAIT_LOST), sr->alert_id, why);
		snprintf(sr->why, sizeof(sr->why), _(MSG_WAIT_LOST),
		    sr->alert_id, why);
	}
	log_warnx(_(MSG_STATUS_HINT), sr->alert_id);
}

/* The exit code and, when send gives up, the last line. */
static int
cmd_send_verdict(const struct send_run *sr, int rc)
{
	if (rc == EXIT_OK)
		return rc;
	/* Refused by a relay, or (unreachable) by the device's own
	 * signed directory: no relay will take it.  (An alert accepted
	 * before a revocation is still delivered: not this case.) */
	if (!sr->accepted &&
	    (strcmp(sr->code, "revoked") == 0 ||
	        strcmp(sr->code, "unknown_device") == 0 || sr->d->cfg.shut_out))
		return verdict_revoked(&sr->d->cfg, sr->why);
	if (!sr->accepted)
		return verdict_not_delivered(
		    sr->why[0] != '\0' ? sr->why : _(MSG_WHY_NOT_ACCEPTED));
	if (watch_cancelled(sr->watch))
		return EXIT_UNCONFIRMED; /* as asked: no alarm to raise */
	return verdict_unconfirmed(
	    sr->why[0] != '\0' ? sr->why : watch_why(sr->watch));
}

/* The alerts of the outbox that were never accepted go first, the
 * same bytes again; the relay answers in order, ours last. */
static void
cmd_send_unsent(const struct device *d, struct send_run *sr, const char *dir)
{
	struct sealed_alert *v;
	size_t n, i;

	if (dir == NULL)
		return;
	n = outbox_list(dir, OUTBOX_UNSENT, 0, d->sk + crypto_sign_SEEDBYTES,
	    sr->alert_id, OUTBOX_LIST_MAX, &v);
	for (i = 0; i < n; i++) {
		out_line(MSG_RESENDING_UNSENT, v[i].alert_id, v[i].created_at);
		resend_add(sr->queue, &v[i]);
	}
	free(v);
}

static int
cmd_send_deliver(const struct send_opts *o, struct device *d,
    const struct alert *a, struct sealed_alert *sealed)
{
	struct send_run sr;
	struct relay_op op = {cmd_send_ready, cmd_send_frame, cmd_send_failed,
	    &sr, NULL};
	struct resend_hooks hooks = {cmd_send_answered, cmd_send_refused, &sr,
	    0};
	char *dir = outbox_dir(&d->cfg), alert_id[33];
	int rc;

	memset(&sr, 0, sizeof(sr));
	sr.o = o;
	sr.d = d;
	sr.a = a;
	memcpy(alert_id, sealed->alert_id, sizeof(alert_id));
	sr.alert_id = alert_id;
	sr.queue = resend_new(dir, &hooks);
	cmd_send_unsent(d, &sr, dir);
	sr.mine = resend_add(sr.queue, sealed);
	free(dir);
	if ((sr.run = relay_run_new(&d->cfg, d->sk, &op, o->timeout_s, 1)) ==
	    NULL) {
		resend_free(sr.queue);
		return verdict_not_delivered(_(MSG_WHY_NO_TLS));
	}
	if (o->until != WATCH_NONE) {
		sr.watch = watch_new(alert_id, o->until);
		watch_accept_relay(sr.watch, o->accept_relay);
	}
	rc = cmd_send_verdict(&sr, relay_run_go(sr.run));
	relay_run_free(sr.run);
	watch_free(sr.watch);
	resend_free(sr.queue);
	return rc;
}

/* --follow: the exit code stays the alert's, whatever becomes of the
 * later positions (follow.c says what). */
static void
cmd_send_follow(const struct send_opts *o, const struct device *d,
    const struct alert *a)
{
	struct follow_params p;

	follow_params_init(&p, &d->cfg);
	if (o->follow_interval != 0)
		p.interval_s = o->follow_interval;
	if (o->gpsd != NULL)
		p.gpsd = o->gpsd;
	p.fixed = a->has_location && o->gpsd == NULL;
	p.lat = a->lat;
	p.lon = a->lon;
	p.has_accuracy = a->has_accuracy;
	p.accuracy_m = a->accuracy_m;
	(void)follow_run(d, a, &p);
}

static int
cmd_send_run(const struct send_opts *o, struct device *d)
{
	struct sealed_alert sealed;
	struct alert a;
	char why[512], when[64];
	int rc = EXIT_FAIL, stored;

	memset(&a, 0, sizeof(a));
	if (cmd_send_location(o, &a) != 0)
		return EXIT_USAGE;
	cmd_send_alert(o, &d->cfg, &a);
	stored =
	    cmd_send_seal(o, &d->cfg, &a, d->sk, &sealed, why, sizeof(why));
	/* Only now: an alert_id the user sees is one the outbox holds. */
	if (out_line(MSG_ALERT_ID, a.alert_id) != 0)
		log_warn("stdout");
	if (a.drill)
		out_line("%s", _("DRILL: a rehearsal, not a real alarm"));
	if (stored == 1) {
		/* a person reads it: local time with its zone */
		receipt_time(sealed.created_at, RECEIPT_TIME_FULL, when,
		    sizeof(when));
		out_line(_(MSG_RESENDING), when);
	}
	if (stored >= 0) {
		/* what a signed acknowledgement must name (ack_verify.h) */
		ack_verify_sent(sealed.alert_id, sealed.envelope,
		    strlen(sealed.envelope));
		rc = cmd_send_deliver(o, d, &a, &sealed);
		alert_seal_free(&sealed);
		if (rc == EXIT_OK && o->follow)
			cmd_send_follow(o, d, &a);
	} else
		rc = verdict_not_delivered(why);
	alert_clear(&a);
	return rc;
}

/* A device enrolled from a bundle without a directory has nobody to
 * seal to until a relay gives it one: the only network step before the
 * outbox, and said as such when it fails. */
static int
cmd_send_recipients(struct device *d, long timeout_s, char *why, size_t whylen)
{
	if (!d->cfg.has_org || d->cfg.nrecipients > 0)
		return 0;
	log_warnx(_(MSG_NO_DIRECTORY));
	return device_fetch_directory(d, timeout_s, why, whylen);
}

int
cmd_send(int argc, char **argv, struct globals *g)
{
	struct device d;
	struct send_opts o;
	char why[512], line[768];
	int rc;

	if ((rc = cmd_send_parse(argc, argv, g, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	verdict_set_drill(o.drill);
	if (device_open(&d, o.config) != 0)
		rc = verdict_not_delivered(_(MSG_WHY_NO_DEVICE));
	else if ((rc = cmd_send_recipients(&d, o.timeout_s, why,
	              sizeof(why))) == -2)
		rc = verdict_revoked(&d.cfg, why);
	else if (rc != 0) {
		snprintf(line, sizeof(line), _(MSG_WHY_NO_DIRECTORY), why);
		rc = verdict_not_delivered(line);
	} else
		rc = cmd_send_run(&o, &d);
	device_close(&d);
	return rc;
}
