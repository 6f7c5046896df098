/*
 * The panic button's alert (button_alert.h).  One relay run lives as
 * long as the button does: each session sends what the outbox holds
 * unsent, follows the open alert, and waits for receipts; a hold in
 * between seals a new alert, stores it (fsync'd) in the outbox and, when
 * a session is up, sends it at once.  Otherwise the run's reconnects
 * deliver it, same alert_id, same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "ack_verify.h"
#include "alert_reseal.h"
#include "alert_seal.h"
#include "button_alert.h"
#include "frame.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "outbox.h"
#include "receipt.h"
#include "receipt_ack.h"
#include "resend.h"
#include "seen.h"
#include "util.h"
#include "xmalloc.h"

#define BUTTON_SEEN_MAX 4096

enum button_alert_state {
	BUTTON_NONE, /* nothing open: a hold raises an alert */
	BUTTON_UNSENT, /* raised, no relay has it yet */
	BUTTON_ACCEPTED,
	BUTTON_DELIVERED,
};

struct button_alert {
	struct device *d; /* its directory follows the relays' (trust.h) */
	const struct button_config *bc;
	char *dir; /* the outbox */
	struct relay_run *run;
	struct relay_op op;
	struct resend_hooks hooks;
	struct resend *queue;
	struct seen *said; /* alert_id + receipt_key already logged */
	struct button_led *led;
	struct relay_session *live; /* as ready() saw it */
	unsigned long live_no; /* its attempt number */
	unsigned long watched_no; /* the attempt that asked for status */
	int recheck; /* held while open: raise anew if it turns out closed */
	char open_id[33];
	enum button_alert_state state;
	/* The relay said the open alert is over ("cancelled", "expired")
	 * without anything the device can check: the next hold raises a
	 * new alert at once.  "" otherwise. */
	char over[16];
	/* The run told that nothing gets through, every relay having
	 * refused this device (relay_run_on_refused), and why, until one
	 * takes it again (ready()): no hold gets through meanwhile, which
	 * the official must know. */
	int refused;
	char refused_why[768];
	/* The open alert until a relay accepts it: its text, to seal it
	 * again to a newer directory (alert_reseal.h), the version it was
	 * sealed to, and its place in the queue. */
	struct alert open_a;
	long long open_dir;
	int open_hold; /* its outbox entry, held until at a relay, or
	                * OUTBOX_NOT_KEPT (outbox.h) */
	size_t open_i;
};

static void
button_alert_show(struct button_alert *ba)
{
	if (ba->led == NULL)
		return;
	button_led_set(ba->led,
	    ba->refused                      ? BUTTON_LED_FAST
	        : ba->state == BUTTON_NONE   ? BUTTON_LED_OFF
	        : ba->state == BUTTON_UNSENT ? BUTTON_LED_BLINK
	                                     : BUTTON_LED_ON);
}

/* What a hold gets while every relay refuses this device: it must not
 * read as a passing loss of connection (the alert is "kept"), as the
 * official is to call 112 instead of waiting for it. */
static void
button_alert_say_refused(struct button_alert *ba)
{
	if (ba->state == BUTTON_UNSENT)
		out_line(_("every relay refuses this device: alert %s is kept "
		           "and offered to them again, but ALARM NOT "
		           "DELIVERED. Call 112 now. (%s)"),
		    ba->open_id, ba->refused_why);
	else
		out_line(_("every relay refuses this device: no alarm from "
		           "this button gets through until one takes it "
		           "again. In danger, call 112. (%s)"),
		    ba->refused_why);
}

/* Every relay refused this device (relay_run_on_refused): said once,
 * until a relay takes it again, however often the run tells it; the
 * run keeps asking. */
static void
button_alert_device_refused(void *arg, const char *why)
{
	struct button_alert *ba = arg;

	snprintf(ba->refused_why, sizeof(ba->refused_why), "%s", why);
	if (ba->refused)
		return;
	ba->refused = 1;
	button_alert_show(ba);
	button_alert_say_refused(ba);
	if (resend_pending(ba->queue) > 0)
		out_line(_("button: %zu alert(s) still unsent in the outbox"),
		    resend_pending(ba->queue));
}

/* A hold whose alert cannot go out now: why, in the official's words. */
static void
button_alert_unreached(struct button_alert *ba)
{
	if (ba->refused)
		button_alert_say_refused(ba);
	else
		out_line(_("not connected to a relay right now: alert %s is "
		           "kept and sent as soon as a relay can be reached"),
		    ba->open_id);
}

/* The session ready() saw, while it is still the live one; else NULL. */
static struct relay_session *
button_alert_session(struct button_alert *ba)
{
	struct relay_session *s = relay_run_session(ba->run);

	return s != NULL && s == ba->live &&
	        relay_run_attempt_no(ba->run) == ba->live_no
	    ? s
	    : NULL;
}

/* Asks for the open alert's status once per session (its receipts may
 * have gone to a connection that was lost), then waits. */
static void
button_alert_follow(struct button_alert *ba, struct relay_session *s)
{
	if (ba->state >= BUTTON_ACCEPTED && ba->watched_no != ba->live_no) {
		ba->watched_no = ba->live_no;
		/* A watch this relay cannot take is its word: the next
		 * relay is asked, as watch and libalertclient do. */
		if (relay_session_watch(s, ba->open_id) != 0)
			return;
	}
	relay_session_keepalive(s, "receipts");
}

/* Between the press and now a session verified a newer directory: the
 * open alert, while no relay can hold its bytes, goes sealed to that
 * one (a recipient dropped since must not read it, one added must get
 * it).  Once sent, a relay may have it: it stays, same bytes, which the
 * relay deduplicates. */
static void
button_alert_reseal(struct button_alert *ba)
{
	long long was = ba->open_dir;

	if (ba->state != BUTTON_UNSENT || resend_sent(ba->queue, ba->open_i))
		return;
	if (alert_reseal(ba->d, &ba->open_a, &ba->open_dir, ba->dir, ba->queue,
	        ba->open_i, 1, &ba->open_hold) == ALERT_RESEAL_DONE)
		log_warnx(_(MSG_RESEALED), ba->open_id, ba->open_dir, was);
}

static void
button_alert_send_pending(struct button_alert *ba, struct relay_session *s)
{
	button_alert_reseal(ba);
	if (resend_inflight(ba->queue) > 0)
		relay_session_expect(s, "accepted");
	else if (resend_pending(ba->queue) > 0 &&
	    resend_start(ba->queue, s) > 0)
		relay_session_expect(s, "accepted");
	else if (!resend_move_on(ba->queue, s)) /* refused here: the next */
		button_alert_follow(ba, s);
}

/* Unsent alerts of the outbox (an earlier run's, or send's) join the
 * queue. */
static void
button_alert_load_unsent(struct button_alert *ba)
{
	struct sealed_alert *v;
	size_t n, i;

	n = outbox_list(ba->dir, OUTBOX_UNSENT, 0,
	    ba->d->sk + crypto_sign_SEEDBYTES, NULL, OUTBOX_LIST_MAX, &v);
	for (i = 0; i < n; i++) {
		if (resend_has(ba->queue, v[i].alert_id)) {
			alert_seal_free(&v[i]);
			continue;
		}
		out_line(MSG_RESENDING_UNSENT, v[i].alert_id, v[i].created_at);
		resend_add(ba->queue, &v[i]);
	}
	free(v);
}

/* A panic button whose path died must not go unnoticed: the relay is
 * told the interval, and raises device.offline when it passes silent. */
static void
button_alert_supervise(struct button_alert *ba, struct relay_session *s)
{
	if (ba->bc->supervise_s == 0)
		return;
	if (relay_session_supervise(s, ba->bc->supervise_s) != 0)
		log_warnx("button: %s does not supervise connections",
		    relay_session_label(s));
}

static void
button_alert_ready(struct relay_session *s, void *arg)
{
	struct button_alert *ba = arg;

	ba->live = s;
	ba->live_no = relay_run_attempt_no(ba->run);
	log_info("button: connected to %s", relay_session_label(s));
	if (ba->refused) {
		ba->refused = 0;
		out_line(_("relay %s accepts this device again"),
		    relay_session_label(s));
		button_alert_show(ba);
	}
	button_alert_supervise(ba, s);
	button_alert_load_unsent(ba);
	button_alert_send_pending(ba, s);
}

static void
button_alert_idle(struct relay_session *s, void *arg)
{
	struct button_alert *ba = arg;

	if (resend_inflight(ba->queue) == 0 && resend_pending(ba->queue) > 0)
		button_alert_send_pending(ba, s);
}

static void
button_alert_closed(struct button_alert *ba, const char *how)
{
	if (!outbox_marked(ba->dir, ba->open_id, OUTBOX_CLOSED))
		outbox_mark(ba->dir, ba->open_id, OUTBOX_CLOSED, how);
	if (strcmp(how, "acknowledged") == 0)
		out_line(_("alert %s is acknowledged: the button is ready for "
		           "a new alert"),
		    ba->open_id);
	else if (strcmp(how, "cancelled") == 0)
		out_line(_("alert %s is cancelled: the button is ready for a "
		           "new alert"),
		    ba->open_id);
	else
		out_line(_("alert %s is closed (%s): the button is ready for "
		           "a new alert"),
		    ba->open_id, how);
	outbox_let_go(&ba->open_hold);
	ba->open_id[0] = '\0';
	ba->over[0] = '\0';
	ba->state = BUTTON_NONE;
	button_alert_show(ba);
	if (ba->recheck) {
		/* Held while the relay had closed it unnoticed (expired):
		 * that hold was meant. */
		ba->recheck = 0;
		button_alert_raise(ba);
	}
}

static void
button_alert_accepted(void *arg, struct relay_session *s, size_t i,
    int duplicate)
{
	struct button_alert *ba = arg;

	if (strcmp(resend_alert_id(ba->queue, i), ba->open_id) == 0 &&
	    ba->state == BUTTON_UNSENT) {
		ba->state = BUTTON_ACCEPTED;
		alert_clear(&ba->open_a); /* at a relay: never sealed again */
		outbox_let_go(&ba->open_hold);
		out_line(_("alert %s: accepted by the relay"), ba->open_id);
		button_alert_show(ba);
		/* A duplicate: the receipts so far went elsewhere. */
		if (!duplicate)
			ba->watched_no = ba->live_no;
	}
	button_alert_send_pending(ba, s);
}

/* Only a refusal by every relay ends the open alert; until then it
 * goes to the next relay, still unsent. */
static void
button_alert_refused(void *arg, struct relay_session *s, size_t i,
    const char *code, const char *why, int for_good)
{
	struct button_alert *ba = arg;

	(void)code;
	if (for_good &&
	    strcmp(resend_alert_id(ba->queue, i), ba->open_id) == 0) {
		/* which alert, then as send says it, with why once: the
		 * alarm went nowhere */
		out_line(_("alert %s was refused by every relay"), ba->open_id);
		out_line(_(MSG_VERDICT_NOT_DELIVERED), why);
		alert_clear(&ba->open_a);
		outbox_let_go(&ba->open_hold);
		ba->open_id[0] = '\0';
		ba->state = BUTTON_NONE;
		button_alert_show(ba);
	}
	button_alert_send_pending(ba, s);
}

/* The relay's word that the alert is over: it keeps the button on the
 * alert (lit), since a relay taken over could say it of an alert still
 * open; the next hold raises a new one (button_alert_raise), as a new
 * alarm is never the wrong answer to a hold. */
static void
button_alert_relays_word(struct button_alert *ba, const char *what)
{
	if (strcmp(what, "cancelled") == 0)
		out_line(_("alert %s: the relay says it is cancelled, but not "
		           "with this device's signed cancel: the button keeps "
		           "it open (a hold raises a new alarm)"),
		    ba->open_id);
	else if (strcmp(what, "expired") == 0)
		out_line(_("alert %s: the relay stopped escalating it and "
		           "nobody confirmed it: hold the button again to "
		           "raise a new alarm"),
		    ba->open_id);
	else
		return;
	snprintf(ba->over, sizeof(ba->over), "%s", what);
}

/* One event of the open alert, said once. */
static void
button_alert_event(struct button_alert *ba, const json_t *ev)
{
	const char *what = json_str(ev, "event");
	char line[RECEIPT_LINE_MAX], *key, *said;
	int had;

	if (what == NULL || strcmp(what, "accepted") == 0 ||
	    (key = receipt_key(ev)) == NULL)
		return;
	said = xasprintf("%s %s", ba->open_id, key);
	free(key);
	if (!(had = seen_has(ba->said, said)))
		seen_add(ba->said, said);
	free(said);
	if (!had) {
		receipt_ack_line(ba->d->av, ev, ba->open_id, 1, line,
		    sizeof(line));
		out_line("alert %s: %s", ba->open_id, line);
	}
	if (strcmp(what, "delivered") == 0 && ba->state < BUTTON_DELIVERED) {
		ba->state = BUTTON_DELIVERED;
		button_alert_show(ba);
	} else if (ack_verify_closes(ba->d->av, ev, ba->open_id,
	               ba->bc->accept_relay_ack))
		button_alert_closed(ba, what);
	else if (!had)
		button_alert_relays_word(ba, what);
}

static void
button_alert_status(struct button_alert *ba, const json_t *o)
{
	const char *state = json_str(o, "state");
	json_t *events = json_object_get(o, "events");
	char clean[32];
	size_t i;

	char id[33];

	memcpy(id, ba->open_id, sizeof(id));
	for (i = 0; i < json_array_size(events); i++) {
		button_alert_event(ba, json_array_get(events, i));
		if (strcmp(id, ba->open_id) != 0)
			return; /* closed (and maybe a new one raised) */
	}
	/* The state is only the relay's word: the events above said
	 * whether a verified acknowledgement or this device's own cancel
	 * closed it.  Only a hold (recheck) takes it: a new alarm is never
	 * the wrong answer to a hold, whoever closed the old one. */
	if (ba->recheck && state != NULL && strcmp(state, "open") != 0)
		button_alert_closed(ba, out_clean(state, clean, sizeof(clean)));
	else
		ba->recheck = 0;
}

static void
button_alert_frame(struct relay_session *s, const char *type, const json_t *o,
    void *arg)
{
	struct button_alert *ba = arg;
	const char *id = json_str(o, "alert_id"), *code = json_str(o, "code");
	int ours = id != NULL && ba->state != BUTTON_NONE &&
	    strcmp(id, ba->open_id) == 0;

	if (resend_frame(ba->queue, s, type, o))
		return; /* hooks above */
	if (strcmp(type, "receipt") == 0 && ours)
		button_alert_event(ba, o);
	else if (strcmp(type, "status") == 0 && ours)
		button_alert_status(ba, o);
	else if (strcmp(type, "supervised") == 0)
		log_info("button: path supervised by %s",
		    relay_session_label(s));
	else if (strcmp(type, "error") == 0 && code != NULL &&
	    strcmp(code, "bad_interval") == 0)
		log_warnx("button: the relay refuses supervise = %ld; "
		          "running without supervision",
		    ba->bc->supervise_s);
	else if (strcmp(type, "error") == 0 && code != NULL &&
	    strcmp(code, "unknown_alert") == 0)
		log_debug("relay does not know alert %s",
		    ours ? ba->open_id : "?");
	else
		relay_session_unhandled(s, type, o);
}

static void
button_alert_failed(void *arg, int deadline, const char *why)
{
	struct button_alert *ba = arg;

	(void)deadline;
	log_warnx("button: %s", why);
	if (resend_pending(ba->queue) > 0)
		out_line(_("button: %zu alert(s) still unsent in the outbox"),
		    resend_pending(ba->queue));
}

/* The alert the button raises: panic, with the configured text and
 * place. */
static void
button_alert_fill(const struct button_alert *ba, struct alert *a)
{
	const struct button_config *bc = ba->bc;

	memset(a, 0, sizeof(*a));
	alert_id_generate(a->alert_id);
	memcpy(a->device_id, ba->d->cfg.device_id, sizeof(a->device_id));
	snprintf(a->alert_type, sizeof(a->alert_type), "panic");
	time_rfc3339(a->created_at, time(NULL));
	a->message = bc->message != NULL ? xstrdup(bc->message) : NULL;
	a->has_location = bc->has_location;
	a->lat = bc->lat;
	a->lon = bc->lon;
	a->has_accuracy = bc->has_accuracy;
	a->accuracy_m = bc->accuracy_m;
}

/* Sealed and fsync'd in the outbox before anything goes out: 0, with
 * the alert kept in ba->open_a until a relay has it, or -1 (logged). */
static int
button_alert_seal(struct button_alert *ba, struct sealed_alert *s)
{
	unsigned char mac[OUTBOX_MAC_BYTES];
	struct alert *a = &ba->open_a;
	char err[256];

	alert_clear(a);
	button_alert_fill(ba, a);
	ba->open_dir = ba->d->cfg.dir_version;
	if (alert_seal(a, &ba->d->cfg, ba->d->sk, s, err, sizeof(err)) != 0) {
		log_warnx("button: alert not sealed: %s", err);
		alert_clear(a);
		return -1;
	}
	outbox_mac(a, &ba->d->cfg, ba->d->sk, mac);
	outbox_let_go(&ba->open_hold);
	if (outbox_save(ba->dir, s, mac, &ba->open_hold) != 0) {
		ba->open_hold = OUTBOX_NOT_KEPT; /* still ours to seal again */
		log_warnx("button: alert not stored in the outbox: "
		          "it is sent only while this runs");
	}
	return 0;
}

/* The relay does not tell of an expiry as it happens: a hold while
 * the alert is open asks for its state, in case it is closed. */
static void
button_alert_recheck(struct button_alert *ba)
{
	struct relay_session *s = button_alert_session(ba);

	if (s == NULL)
		return; /* the next session asks anyway */
	ba->recheck = 1;
	(void)relay_session_watch(s, ba->open_id);
}

void
button_alert_raise(struct button_alert *ba)
{
	struct sealed_alert sealed;
	struct relay_session *s;

	if (ba->state == BUTTON_UNSENT) {
		out_line(_("button held again: alert %s is still open and not "
		           "at a relay yet; no new alert sent"),
		    ba->open_id);
		if (ba->refused)
			button_alert_say_refused(ba);
		return;
	}
	if (ba->state >= BUTTON_ACCEPTED && ba->over[0] != '\0') {
		ba->recheck = 1; /* closed() raises the new one */
		button_alert_closed(ba, ba->over);
		return;
	}
	if (ba->state == BUTTON_ACCEPTED)
		out_line(_("button held again: alert %s is still open and "
		           "accepted by the relay; no new alert sent"),
		    ba->open_id);
	else if (ba->state == BUTTON_DELIVERED)
		out_line(_("button held again: alert %s is still open and "
		           "delivered; no new alert sent"),
		    ba->open_id);
	if (ba->state >= BUTTON_ACCEPTED) {
		button_alert_recheck(ba);
		if (ba->refused) /* no new alarm gets through either */
			button_alert_say_refused(ba);
	}
	if (ba->state != BUTTON_NONE)
		return;
	if (button_alert_seal(ba, &sealed) != 0) {
		out_line("%s",
		    _("button held, but the alert could not be "
		      "made: see the log above"));
		return;
	}
	memcpy(ba->open_id, sealed.alert_id, sizeof(ba->open_id));
	ba->state = BUTTON_UNSENT;
	out_line(_("button held: panic alert %s raised"), ba->open_id);
	ba->open_i = resend_add(ba->queue, &sealed);
	button_alert_show(ba);
	if ((s = button_alert_session(ba)) != NULL)
		button_alert_send_pending(ba, s);
	else
		button_alert_unreached(ba);
}

struct button_alert *
button_alert_new(struct device *d, const struct button_config *bc)
{
	struct button_alert *ba = xcalloc(1, sizeof(*ba));

	ba->open_hold = -1;
	ba->d = d;
	ba->bc = bc;
	if ((ba->dir = outbox_dir(&d->cfg)) == NULL) {
		log_warnx("no outbox: set [client] outbox or HOME");
		free(ba);
		return NULL;
	}
	ba->op = (struct relay_op){button_alert_ready, button_alert_frame,
	    button_alert_failed, ba, button_alert_idle};
	if ((ba->run = relay_run_new(&d->cfg, d->sk, &ba->op, 0, 0)) == NULL) {
		free(ba->dir);
		free(ba);
		return NULL;
	}
	/* A button that stopped would leave the person without one. */
	relay_run_persist(ba->run);
	relay_run_on_refused(ba->run, button_alert_device_refused, ba);
	/* Supervised: a ping at least every interval, as promised. */
	if (bc->supervise_s > 0 && bc->supervise_s < RELAY_PING_S)
		relay_run_keepalive(ba->run, (int)bc->supervise_s,
		    (int)bc->supervise_s * 3);
	ba->hooks = (struct resend_hooks){button_alert_accepted,
	    button_alert_refused, ba, 0};
	ba->queue = resend_new(ba->dir, d->cfg.nrelays, &ba->hooks);
	ba->said = seen_new(BUTTON_SEEN_MAX);
	return ba;
}

struct relay_run *
button_alert_run(struct button_alert *ba)
{
	return ba->run;
}

void
button_alert_led(struct button_alert *ba, struct button_led *led)
{
	ba->led = led;
	button_alert_show(ba);
}

void
button_alert_free(struct button_alert *ba)
{
	if (ba == NULL)
		return;
	relay_run_free(ba->run);
	resend_free(ba->queue);
	alert_clear(&ba->open_a);
	outbox_let_go(&ba->open_hold);
	seen_free(ba->said);
	free(ba->dir);
	free(ba);
}
