/*
 * alertctl send: build, sign and seal an alert, keep it in the outbox,
 * deliver it, and with --wait follow it until a person acknowledged it.
 * All of it through libalertclient's API (lib/alertclient.h): this file
 * turns options into an ar_send() and its events into the lines send has
 * always printed (--follow's later positions still use follow.c).
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

#include "alertclient.h"
#include "i18n.h"
#include "alert.h"
#include "alertctl.h"
#include "device.h"
#include "follow.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "usage.h"
#include "verdict.h"
#include "util.h"
#include "watch.h"

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

/* One sending as the library tells it. */
struct send_run {
	const struct send_opts *o;
	char alert_id[AR_ALERT_ID_LEN];
	int accepted; /* this alert (not an earlier one of the outbox) */
	int waiting; /* the library said what the wait is for */
	int ended;
	int status; /* of AR_EV_DONE or AR_EV_FAILED */
	char why[1024]; /* why it gave up, for the last line */
	char code[32];
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
cmd_send_line(const char *text)
{
	if (text != NULL && out_line("%s", text) != 0)
		log_warn("stdout");
}

/* What the person can do next, once send gives up on its alert. */
static void
cmd_send_hint(const struct send_run *sr, const struct ar_event *ev)
{
	if (ev->alert_id == NULL || strcmp(ev->alert_id, sr->alert_id) != 0 ||
	    ev->status != AR_E_TIMEOUT)
		return;
	if (!sr->accepted)
		log_warnx(_(MSG_RESEND_HINT), sr->alert_id);
	else
		log_warnx(_(MSG_STATUS_HINT), sr->alert_id);
}

/* Each event as the line send prints for it. */
static void
cmd_send_event(void *ctx, const struct ar_event *ev)
{
	struct send_run *sr = ctx;

	switch (ev->type) {
	case AR_EV_RESENDING:
		out_line(MSG_RESENDING_UNSENT, ev->alert_id, ev->created_at);
		break;
	case AR_EV_ACCEPTED:
		out_line(MSG_ACCEPTED, ev->alert_id, ev->relay_id,
		    ev->duplicate ? MSG_DUPLICATE : "");
		if (strcmp(ev->alert_id, sr->alert_id) == 0)
			sr->accepted = 1;
		break;
	case AR_EV_ACKNOWLEDGED:
		cmd_send_line(ev->text);
		/* the library tells, alertctl says what to do about it */
		if (ev->verified == AR_ACK_RELAY && sr->o->until == WATCH_ACK &&
		    !sr->o->accept_relay)
			cmd_send_line(
			    _("still waiting for an acknowledgement "
			      "signed by the person (--accept-relay-ack "
			      "takes the relay's word)"));
		break;
	case AR_EV_FAILED:
		cmd_send_hint(sr, ev);
		/* fall through */
	case AR_EV_DONE:
		sr->ended = 1;
		sr->status = ev->status;
		snprintf(sr->why, sizeof(sr->why), "%s",
		    ev->reason != NULL ? ev->reason : "");
		snprintf(sr->code, sizeof(sr->code), "%s",
		    ev->code != NULL ? ev->code : "");
		break;
	case AR_EV_PROGRESS:
		if (sr->accepted && !sr->waiting &&
		    sr->o->until != WATCH_NONE) {
			/* what the wait is for: a person under stress must
			 * not think that leaving it cancels anything */
			sr->waiting = 1;
			if (out_line("%s; %s", ev->text,
			        _("Ctrl-C stops waiting, the alert stays "
			          "open")) != 0)
				log_warn("stdout");
		} else
			cmd_send_line(ev->text);
		break;
	default:
		/* receipts: their line for a person */
		cmd_send_line(ev->text);
	}
}

/* The exit code and, when send gives up, the last line. */
static int
cmd_send_verdict(const struct send_run *sr, const ar_client *c)
{
	if (sr->status == AR_OK)
		return EXIT_OK;
	/* Refused by a relay, or (unreachable) by the device's own signed
	 * directory: no relay will take it.  (An alert accepted before a
	 * revocation is still delivered: not this case.) */
	if (!sr->accepted && sr->status == AR_E_REVOKED)
		return verdict_revoked_contact(ar_client_contact(c), sr->why);
	if (!sr->accepted)
		return verdict_not_delivered(
		    sr->why[0] != '\0' ? sr->why : _(MSG_WHY_NOT_ACCEPTED));
	/* this device's own signed cancel (ar_follow.c): as asked, no
	 * alarm to raise; the relay's word alone ("cancelled_relay") is
	 * no confirmation, said as such below */
	if (strcmp(sr->code, "cancelled") == 0)
		return EXIT_UNCONFIRMED;
	return verdict_unconfirmed(
	    sr->why[0] != '\0' ? sr->why : "no confirmation");
}

static unsigned
cmd_send_flags(const struct send_opts *o)
{
	unsigned flags = 0;

	if (o->drill)
		flags |= AR_SEND_DRILL;
	if (o->alert_id != NULL)
		flags |= AR_SEND_AGAIN;
	if (o->until == WATCH_ACK)
		flags |= AR_SEND_WAIT_ACK;
	else if (o->until == WATCH_DELIVERED)
		flags |= AR_SEND_WAIT_DELIVERED;
	if (o->accept_relay)
		flags |= AR_SEND_ACCEPT_RELAY_ACK;
	return flags;
}

/* --follow: the exit code stays the alert's, whatever becomes of the
 * later positions (follow.c says what); the inner alert is rebuilt as
 * ar_send made it, each update carrying its own time. */
static void
cmd_send_follow(const struct send_opts *o, const struct alert *loc,
    const char *alert_id)
{
	struct follow_params p;
	struct device d;
	struct alert a = *loc;

	if (device_open(&d, o->config) != 0) {
		device_close(&d);
		return;
	}
	memcpy(a.alert_id, alert_id, sizeof(a.alert_id));
	memcpy(a.device_id, d.cfg.device_id, sizeof(a.device_id));
	snprintf(a.alert_type, sizeof(a.alert_type), "%s", o->type);
	time_rfc3339(a.created_at, time(NULL));
	a.drill = o->drill;
	a.message = (char *)o->message;
	follow_params_init(&p, &d.cfg);
	if (o->follow_interval != 0)
		p.interval_s = o->follow_interval;
	if (o->gpsd != NULL)
		p.gpsd = o->gpsd;
	p.fixed = a.has_location && o->gpsd == NULL;
	p.lat = a.lat;
	p.lon = a.lon;
	p.has_accuracy = a.has_accuracy;
	p.accuracy_m = a.accuracy_m;
	p.accept_relay = o->accept_relay;
	(void)follow_run(&d, &a, &p);
	device_close(&d);
}

/* ar_send's synchronous refusals, after the alert_id line where there
 * is one. */
static int
cmd_send_refused(int rc, const ar_client *c)
{
	char line[1280];

	if (rc == AR_E_SEAL) {
		snprintf(line, sizeof(line), _(MSG_WHY_NOT_SEALED),
		    ar_client_reason(c));
		return verdict_not_delivered(line);
	}
	if (rc == AR_E_TLS)
		return verdict_not_delivered(_(MSG_WHY_NO_TLS));
	return verdict_not_delivered(ar_strerror(rc));
}

static int
cmd_send_run(const struct send_opts *o, ar_client *c, struct send_run *sr,
    const struct alert *loc)
{
	struct ar_location where = {loc->lat, loc->lon,
	    loc->has_accuracy ? loc->accuracy_m : -1};
	int rc;

	if (o->alert_id != NULL)
		snprintf(sr->alert_id, sizeof(sr->alert_id), "%s", o->alert_id);
	ar_client_set_option(c, AR_OPT_TIMEOUT, o->timeout_s);
	ar_client_set_option(c, AR_OPT_WAIT_TIMEOUT, o->wait_timeout_s);
	rc = ar_send(c, o->type, o->message, loc->has_location ? &where : NULL,
	    cmd_send_flags(o), sr->alert_id, sizeof(sr->alert_id), NULL);
	/* Only now: an alert_id the user sees is one the outbox holds. */
	if (sr->alert_id[0] != '\0' &&
	    out_line(MSG_ALERT_ID, sr->alert_id) != 0)
		log_warn("stdout");
	if (sr->alert_id[0] != '\0' && o->drill)
		out_line("%s", _("DRILL: a rehearsal, not a real alarm"));
	if (rc == AR_E_STORAGE)
		log_warnx(_("alert not stored in the outbox: a resend with "
		            "--alert-id will count as a different alert"));
	else if (rc != AR_OK)
		return cmd_send_refused(rc, c);
	while (!sr->ended)
		if (ar_client_step(c, 1000) != AR_OK)
			log_fatalx("the event loop failed");
	rc = cmd_send_verdict(sr, c);
	if (rc == EXIT_OK && o->follow)
		cmd_send_follow(o, loc, sr->alert_id);
	return rc;
}

int
cmd_send(int argc, char **argv, struct globals *g)
{
	struct ar_callbacks cb = {cmd_send_event};
	struct send_opts o;
	struct send_run sr;
	struct alert loc;
	ar_client *c;
	int rc;

	if ((rc = cmd_send_parse(argc, argv, g, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	memset(&loc, 0, sizeof(loc));
	if (cmd_send_location(&o, &loc) != 0)
		return EXIT_USAGE;
	verdict_set_drill(o.drill);
	memset(&sr, 0, sizeof(sr));
	sr.o = &o;
	if (ar_client_new(&c, o.config, NULL, &cb, &sr, NULL, 0) != AR_OK)
		return verdict_not_delivered(_(MSG_WHY_NO_DEVICE));
	rc = cmd_send_run(&o, c, &sr, &loc);
	ar_client_free(c);
	return rc;
}
