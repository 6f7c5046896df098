/*
 * One delivery of the dispatcher (dispatch.c): its alert read from Redis
 * (or given from memory, dispatch_fresh.h), the webhook or SMS made and
 * retried with backoff, and how it ended recorded in Redis and the audit
 * log.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "audit_record.h"
#include "directory.h"
#include "directory_version.h"
#include "dispatch_int.h"
#include "dispatch_sms.h"
#include "http_client.h"
#include "evtimer_ms.h"
#include "log.h"
#include "log_budget.h"
#include "metrics.h"
#include "relay.h"
#include "sms_gateway.h"
#include "stage_metrics.h"
#include "store.h"
#include "store_scripts.h"
#include "webhook.h"
#include "xmalloc.h"

#define DONE_RETRY_MS 1000

/* Give-backs are logged, each one, within a budget: many at once (a
 * relay far behind) cost a few lines and a count. */
static struct log_budget delivery_behind_log = {"notifications given back", 0,
    0, 0};

static json_t *delivery_fail_args(const struct delivery *dl);

void
delivery_free(struct delivery *dl)
{
	struct dispatch *d = dl->d;

	TAILQ_REMOVE(&d->deliveries, dl, entry);
	strindex_remove(d->by_stream, &dl->by_stream);
	d->ninflight--;
	if (dl->retrying)
		d->nretry--;
	metrics.deliveries_retrying = d->nretry;
	metrics.deliveries_inflight = d->ninflight;
	store_req_cancel(dl->sreq);
	if (strcmp(dl->e.channel, "sms") == 0)
		sms_send_cancel(dl->hreq);
	else
		http_req_cancel(dl->hreq);
	event_free(dl->timer);
	json_decref(dl->meta);
	json_decref(dl->local_meta);
	json_decref(dl->fresh_meta);
	free(dl->body);
	free(dl);
	if (d->draining)
		dispatch_check_drained(d);
	else
		dispatch_read(d); /* room again for more work */
}

static void
delivery_later(struct delivery *dl, long ms)
{
	/* Shutting down: leave it pending in Redis for whoever is next. */
	if (dl->d->draining) {
		delivery_free(dl);
		return;
	}
	evtimer_add_ms(dl->timer, ms);
}

/* Exponential backoff with +-20% jitter, so a recovering endpoint is not
 * hit by every delivery at the same instant. */
static long
delivery_backoff_ms(const struct delivery *dl)
{
	const struct relay_config *cfg = dl->d->relay->cfg;
	long ms = cfg->retry_initial_ms;
	int i;

	for (i = 1; i < dl->attempt && ms < cfg->retry_max_ms; i++)
		ms *= 2;
	if (ms > cfg->retry_max_ms)
		ms = cfg->retry_max_ms;
	return ms * 8 / 10 +
	    (long)randombytes_uniform((uint32_t)(ms * 4 / 10 + 1));
}

static void
delivery_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	delivery_step(arg);
}

static const char *
delivery_meta(const struct delivery *dl, const char *key)
{
	const char *v = json_string_value(json_object_get(dl->meta, key));

	return v != NULL ? v : "";
}

static int
delivery_is_alert(const struct delivery *dl)
{
	return strcmp(dl->e.event, "alert.raised") == 0 ||
	    strcmp(dl->e.event, "alert.escalated") == 0 ||
	    strcmp(dl->e.event, "alert.duress") == 0;
}

/* A later position (location.h): like an alarm, only while its alert
 * is open; unlike one, given up quietly (a newer one follows). */
static int
delivery_is_location(const struct delivery *dl)
{
	return strcmp(dl->e.event, "alert.location") == 0;
}

/* The sending device's alias from the directory, else its id. */
static const char *
delivery_device_alias(const struct delivery *dl)
{
	const char *id = delivery_meta(dl, "device_id");
	const struct device_entry *d =
	    relay_config_device(dl->d->relay->cfg, id);

	return d != NULL && d->alias != NULL ? d->alias : id;
}

static const char *
delivery_alias(const struct delivery *dl)
{
	const struct recipient_entry *r =
	    relay_config_recipient(dl->d->relay->cfg, dl->e.recipient_id);

	return r != NULL && r->alias != NULL ? r->alias : dl->e.recipient_id;
}

static void
delivery_recorded_cb(json_t *reply, const char *err, void *arg)
{
	struct delivery *dl = arg;

	dl->sreq = NULL;
	if (reply == NULL) {
		/* Made but not yet recorded: keep trying; a crash now
		 * means one duplicate with the same webhook-id. */
		log_warnx("delivery alert=%s recipient=%s: recording result: "
		          "%s",
		    dl->e.alert_id, dl->e.recipient_id, err);
		delivery_later(dl, DONE_RETRY_MS);
		return;
	}
	delivery_free(dl);
}

/* A notification made, failed or given up, in the audit log: to whom
 * (the recipient is the object's second part), on which channel. */
static void
delivery_audit(struct delivery *dl, const char *result, const char *why)
{
	char object[AUDIT_FIELD_MAX], reason[160];

	snprintf(object, sizeof(object), "alert:%s recipient:%s",
	    dl->e.alert_id, dl->e.recipient_id);
	snprintf(reason, sizeof(reason), "%s%s%.100s", dl->e.event,
	    why != NULL ? " " : "", why != NULL ? why : "");
	audit_relay(dl->d->relay, "delivery", object, result, NULL,
	    dl->e.channel, "relay", reason);
}

void
delivery_drop(struct delivery *dl, const char *why)
{
	log_info("delivery alert=%s recipient=%s channel=%s event=%s "
	         "dropped: %s",
	    dl->e.alert_id[0] ? dl->e.alert_id : "-",
	    dl->e.recipient_id[0] ? dl->e.recipient_id : "-",
	    dl->e.channel[0] ? dl->e.channel : "-", dl->e.event, why);
	metrics_delivery(dl->e.channel,
	    json_is_true(json_object_get(dl->meta, "drill")), DELIVERY_DROPPED);
	dl->state = D_DROP;
	delivery_step(dl);
}

/* Given up at once, not retried: a dead letter, and for an alarm its
 * recipient marked unreached with the next tier at once (script_fail),
 * so that people see the alarm did not reach them. */
static void
delivery_fail_now(struct delivery *dl, const char *why)
{
	snprintf(dl->reason, sizeof(dl->reason), "%s", why);
	metrics_delivery(dl->e.channel,
	    json_is_true(json_object_get(dl->meta, "drill")), DELIVERY_FAILED);
	dl->state = D_FAIL;
	delivery_step(dl);
}

/* A notification that cannot be made at all (the recipient's channel
 * gone in a reload): dropped, except for a duress alarm, which is never
 * dropped quietly (delivery_fail_now). */
static void
delivery_cannot(struct delivery *dl, const char *why)
{
	if (!delivery_is_alert(dl) ||
	    !json_is_true(json_object_get(dl->meta, "duress"))) {
		delivery_drop(dl, why);
		return;
	}
	delivery_fail_now(dl, why);
}

/* The delivery entry was added when its notification was decided; its
 * stream id starts with that time in milliseconds. */
static int64_t
delivery_age_ms(const struct delivery *dl)
{
	return now_ms() - strtoll(dl->e.stream_id, NULL, 10);
}

static void delivery_failed(struct delivery *dl);

/* No room to wait in memory: max_inflight others wait for a retry. */
static void
delivery_no_room(struct delivery *dl)
{
	const struct relay_config *cfg = dl->d->relay->cfg;

	if (dl->unreached && delivery_is_alert(dl) && dl->local_done == NULL) {
		/* Left pending in Redis, marked unreached there: taken up
		 * again, by any instance, once idle claim_idle_ms. */
		log_debug("delivery alert=%s recipient=%s channel=%s waits in "
		          "redis: %zu others wait for a retry here",
		    dl->e.alert_id, dl->e.recipient_id, dl->e.channel,
		    dl->d->nretry);
		metrics.deliveries_released++;
		delivery_free(dl);
		return;
	}
	/* Failed once with no room to retry: counted as failed for good
	 * now, so the next tier is not held back by a full dispatcher. */
	log_warnx("delivery alert=%s recipient=%s channel=%s event=%s: "
	          "%zu others wait for a retry (max_inflight): counted as "
	          "failed after attempt %d",
	    dl->e.alert_id, dl->e.recipient_id, dl->e.channel, dl->e.event,
	    dl->d->nretry, dl->attempt);
	if (dl->attempt < cfg->max_attempts)
		dl->attempt = (int)cfg->max_attempts;
	delivery_failed(dl);
}

/*
 * The next attempt in ms, among the deliveries that wait for a retry.
 * They are bounded apart from those being made (max_inflight each), so
 * that a receiver that stays down keeps no new delivery from being read
 * (dispatch_read); one that finds no room is dealt with by
 * delivery_no_room.
 */
static void
delivery_wait(struct delivery *dl, long ms)
{
	struct dispatch *d = dl->d;

	if (!dl->retrying && !d->draining) {
		if ((long)d->nretry >= d->relay->cfg->max_inflight) {
			delivery_no_room(dl);
			return;
		}
		dl->retrying = 1;
		d->nretry++;
		metrics.deliveries_retrying = d->nretry;
		dispatch_read(d); /* its place among new ones is free */
	}
	delivery_later(dl, ms);
}

static void
delivery_unreached_cb(json_t *reply, const char *err, void *arg)
{
	struct delivery *dl = arg;

	dl->sreq = NULL;
	if (reply == NULL)
		log_warnx("delivery alert=%s recipient=%s: recording that it "
		          "was not reached: %s",
		    dl->e.alert_id, dl->e.recipient_id, err);
	dl->state = D_FETCH;
	delivery_wait(dl, delivery_backoff_ms(dl));
}

/* An alarm to a recipient who stays unreachable is not given up while
 * its alert is open: the recipient is marked unreached (the next tier
 * comes at once) and it is tried again every retry_max_ms, until it
 * goes through or the alert closes or expires. */
static void
delivery_failed(struct delivery *dl)
{
	int first = !dl->unreached;

	if (first)
		metrics_delivery(dl->e.channel,
		    json_is_true(json_object_get(dl->meta, "drill")),
		    DELIVERY_FAILED);
	dl->unreached = 1;
	if (delivery_is_location(dl)) {
		delivery_drop(dl,
		    "position not delivered; a newer one follows");
		return;
	}
	/* From the spool: moved into Redis later, it is retried there. */
	if (!delivery_is_alert(dl) || dl->local_done != NULL ||
	    strcmp(delivery_meta(dl, "state"), "open") != 0) {
		dl->state = D_FAIL;
		delivery_step(dl);
		return;
	}
	if (!first) {
		dl->state = D_FETCH;
		delivery_wait(dl, delivery_backoff_ms(dl));
		return;
	}
	delivery_audit(dl, "failed", dl->reason);
	log_warnx("delivery alert=%s recipient=%s channel=%s event=%s "
	          "result=failed attempts=%d reason=\"%s\" still trying while "
	          "the alert is open",
	    dl->e.alert_id, dl->e.recipient_id, dl->e.channel, dl->e.event,
	    dl->attempt, dl->reason);
	dl->sreq = store_eval(dl->d->relay->store, script_unreached,
	    delivery_fail_args(dl), delivery_unreached_cb, dl);
}

static void
delivery_result(struct delivery *dl, int ok, long status, const char *error)
{
	long latency = (long)delivery_age_ms(dl);

	dl->hreq = NULL;
	if (ok) {
		log_info("delivery alert=%s recipient=%s channel=%s result=ok "
		         "status=%ld attempt=%d latency_ms=%ld event=%s",
		    dl->e.alert_id, dl->e.recipient_id, dl->e.channel, status,
		    dl->attempt, latency, dl->e.event);
		metrics_delivery(dl->e.channel,
		    json_is_true(json_object_get(dl->meta, "drill")),
		    DELIVERY_OK);
		metrics_delivery_latency(latency / 1000.0);
		delivery_audit(dl, "ok", NULL);
		dl->state = D_DONE;
		delivery_step(dl);
		return;
	}
	snprintf(dl->reason, sizeof(dl->reason), "%s%s%ld",
	    error ? error : "answer", error ? "; status " : " ", status);
	metrics_delivery(dl->e.channel,
	    json_is_true(json_object_get(dl->meta, "drill")), DELIVERY_RETRY);
	log_warnx("delivery alert=%s recipient=%s channel=%s result=retry "
	          "status=%ld attempt=%d event=%s error=\"%s\"",
	    dl->e.alert_id, dl->e.recipient_id, dl->e.channel, status,
	    dl->attempt, dl->e.event, error ? error : "non-2xx answer");
	if (dl->attempt >= dl->d->relay->cfg->max_attempts) {
		delivery_failed(dl);
		return;
	}
	/* An alarm is read again before each retry: acknowledged or
	 * cancelled meanwhile, it is not sent any more. */
	if (delivery_is_alert(dl) || delivery_is_location(dl))
		dl->state = D_FETCH;
	delivery_wait(dl, delivery_backoff_ms(dl));
}

static void
delivery_webhook_cb(long status, const char *error, void *arg)
{
	struct delivery *dl = arg;

	if (status >= 200 && status < 300)
		stage_observe(STAGE_WEBHOOK_2XX, dl->stage_ns);
	dl->stage_ns = 0; /* a retry is timed from its own start */
	delivery_result(dl, status >= 200 && status < 300, status, error);
}

/*
 * The SMS gateway keeps the message until its link to an SMS centre is
 * back (sms_gateway.h): nobody has it yet, so it is not delivered, and
 * the escalation does not wait for it: the recipient is marked not
 * reached with the next tier at once, given up as a dead letter (once
 * the link is back the gateway sends what it keeps; each resend would
 * add a copy to its queue).  Their number stays among those the alert
 * was sent to, so that a reply to the SMS, once it arrives, counts.
 */
static void
delivery_queued(struct delivery *dl, long status)
{
	dl->hreq = NULL;
	dl->queued = 1;
	snprintf(dl->reason, sizeof(dl->reason), "%s", SMS_QUEUED_REASON);
	/* its one line: D_FAIL (delivery_step) does not log it again */
	log_warnx("delivery alert=%s recipient=%s channel=%s result=queued "
	          "status=%ld attempt=%d event=%s reason=\"%s\"",
	    dl->e.alert_id, dl->e.recipient_id, dl->e.channel, status,
	    dl->attempt, dl->e.event, dl->reason);
	metrics_delivery(dl->e.channel,
	    json_is_true(json_object_get(dl->meta, "drill")), DELIVERY_FAILED);
	dl->state = D_FAIL;
	delivery_step(dl);
}

static void
delivery_sms_cb(int ok, long status, const char *error, void *arg)
{
	if (ok == SMS_QUEUED)
		delivery_queued(arg, status);
	else
		delivery_result(arg, ok == SMS_ACCEPTED, status, error);
}

static void
delivery_send_webhook(struct delivery *dl, const struct recipient_entry *r)
{
	const struct relay_config *cfg = dl->d->relay->cfg;
	struct http_post_args a;
	char *headers[WEBHOOK_NHEADERS];

	webhook_headers(r, dl->webhook_id, dl->body, dl->bodylen, headers);
	memset(&a, 0, sizeof(a));
	a.url = r->webhook_url;
	a.headers = (const char *const *)headers;
	a.nheaders = WEBHOOK_NHEADERS;
	a.body = dl->body;
	a.bodylen = dl->bodylen;
	a.connect_timeout_ms = cfg->connect_timeout * 1000;
	a.timeout_ms = cfg->request_timeout * 1000;
	dl->hreq = http_post(dl->d->relay->http, &a, delivery_webhook_cb, dl);
	dl->stage_ns = stage_observe(STAGE_WEBHOOK_SENT, dl->stage_ns);
	webhook_headers_free(headers);
}

/* The SMS out; report is its delivery reports' query, or NULL. */
static void
delivery_sms_out(struct delivery *dl, const char *report)
{
	const struct relay_config *cfg = dl->d->relay->cfg;
	const struct recipient_entry *r =
	    relay_config_recipient(cfg, dl->e.recipient_id);
	const struct sms_gateway *gw = r != NULL && r->sms != NULL
	    ? relay_config_gateway(cfg, r->sms_gateway)
	    : NULL;
	const char *ref = delivery_meta(dl, "ref");
	char text[SMS_TEXT_MAX];

	if (gw == NULL) {
		delivery_cannot(dl, "sms gateway gone");
		return;
	}
	dispatch_sms_text(cfg, dl->meta, &dl->e, text, sizeof(text));
	dl->hreq = sms_send(dl->d->relay->http, gw, r->sms, text, ref, report,
	    cfg->connect_timeout * 1000, cfg->request_timeout * 1000,
	    delivery_sms_cb, dl);
	if (dl->hreq == NULL) {
		/* Refused before sending: retrying would not change that. */
		snprintf(dl->reason, sizeof(dl->reason),
		    "message refused by the gateway module");
		metrics_delivery(dl->e.channel,
		    json_is_true(json_object_get(dl->meta, "drill")),
		    DELIVERY_FAILED);
		dl->state = D_FAIL;
		delivery_step(dl);
	}
}

/* Without Redis the SMS goes all the same, asking for no report: an
 * alarm is not held back for its receipt. */
static void
delivery_report_cb(json_t *reply, const char *err, void *arg)
{
	struct delivery *dl = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));

	dl->sreq = NULL;
	if (reply == NULL)
		log_warnx("delivery alert=%s recipient=%s: no delivery report "
		          "asked for: %s",
		    dl->e.alert_id, dl->e.recipient_id, err);
	delivery_sms_out(dl,
	    r != NULL && strcmp(r, "ok") == 0 ? dl->report : NULL);
}

/* An alarm SMS through a gateway that takes delivery reports: its
 * credential in Redis first (sms_report.h), so that a report coming
 * back at once finds it. */
static void
delivery_send_sms(struct delivery *dl, const struct recipient_entry *r)
{
	const struct relay_config *cfg = dl->d->relay->cfg;
	const struct sms_gateway *gw =
	    relay_config_gateway(cfg, r->sms_gateway);
	char cred[SMS_REPORT_CRED_LEN + 1], u[24];

	if (gw == NULL || gw->report_url == NULL || !delivery_is_alert(dl) ||
	    dl->local_done != NULL) {
		delivery_sms_out(dl, NULL);
		return;
	}
	sms_report_cred(cred);
	if (sms_report_query(dl->e.alert_id, dl->e.recipient_id, cred,
	        dl->report, sizeof(dl->report)) != 0) {
		/* cannot happen with ids as the relay takes them: said if
		 * it ever does, as the SMS goes out without a report */
		log_warnx("delivery alert=%s recipient=%s: no delivery report "
		          "asked for: report query too long",
		    dl->e.alert_id, dl->e.recipient_id);
		sodium_memzero(cred, sizeof(cred));
		delivery_sms_out(dl, NULL);
		return;
	}
	snprintf(u, sizeof(u), "%lld",
	    (long long)(now_ms() + cfg->sms_report_timeout * 1000));
	dl->sreq = store_eval(dl->d->relay->store, script_report_wait,
	    json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "aid",
	        dl->e.alert_id, "rid", dl->e.recipient_id, "c", cred, "u", u,
	        "ttl", (json_int_t)cfg->sms_report_timeout + 60, "event",
	        dl->e.event, "tier", dl->e.tier),
	    delivery_report_cb, dl);
	sodium_memzero(cred, sizeof(cred));
}

/* Given back for DIRECTORY_GIVEBACK_MAX_MS while no relay with the
 * newer directory ran (alive.h): stopped for good, or the newer
 * directory rolled back.  This relay decides on its own directory now:
 * an alarm fails, as one whose recipient cannot be reached (a dead
 * letter, the recipient marked unreached, the next tier at once);
 * anything else is dropped as for a recipient gone (delivery_cannot).
 * 1 when it failed here. */
static int
delivery_behind_too_long(struct delivery *dl, long long dirv, int64_t waited)
{
	char why[160];

	log_warnx("delivery alert=%s recipient=%s channel=%s: given back for "
	          "%lld ms and no relay with directory version %lld took it: "
	          "decided here on version %lld",
	    dl->e.alert_id, dl->e.recipient_id, dl->e.channel,
	    (long long)waited, dirv, dl->d->relay->cfg->dir->version);
	if (!delivery_is_alert(dl))
		return 0;
	snprintf(why, sizeof(why),
	    "recipient not in this relay's directory (version %lld); no "
	    "relay with version %lld took it in %d s",
	    dl->d->relay->cfg->dir->version, dirv,
	    DIRECTORY_GIVEBACK_MAX_MS / 1000);
	delivery_fail_now(dl, why);
	return 1;
}

/* A recipient, or its channel, this relay does not know while another
 * relay of this Redis runs a newer signed directory (script_meta's dirv,
 * directory_version.c): maybe one added since, not one gone.  Left
 * pending in Redis, claimable at once, for whichever instance claims it
 * next (one with the newer directory delivers it), never dropped here.
 * While a relay with the newer directory runs (script_meta's
 * newer_alive, alive.h), however long it has no room for it, it is
 * given back with no bound, and the bound's start (gb:) moves to now;
 * with none running, for DIRECTORY_GIVEBACK_MAX_MS from the first
 * give-back since (script_meta's given_back_ms, the same for every
 * relay and restart); then delivery_behind_too_long.  1 when left so,
 * or failed there. */
static int
delivery_behind(struct delivery *dl)
{
	json_t *v = json_object_get(dl->meta, "dirv");
	json_t *gb = json_object_get(dl->meta, "given_back_ms");
	long long dirv = json_is_integer(v) ? json_integer_value(v) : -1;
	int newer = json_is_true(json_object_get(dl->meta, "newer_alive"));
	int64_t t = now_ms();

	if (dl->local_done != NULL ||
	    !directory_version_behind(dl->d->relay, dirv))
		return 0;
	if (!newer && json_is_integer(gb) &&
	    t - json_integer_value(gb) >= DIRECTORY_GIVEBACK_MAX_MS)
		return delivery_behind_too_long(dl, dirv,
		    t - json_integer_value(gb));
	if (log_budget_take(&delivery_behind_log))
		log_warnx("delivery alert=%s recipient=%s channel=%s: not in "
		          "this relay's directory (version %lld), but another "
		          "relay of this Redis runs version %lld: left to a "
		          "relay with it (reload this relay); newer_alive=%s",
		    dl->e.alert_id, dl->e.recipient_id, dl->e.channel,
		    dl->d->relay->cfg->dir->version, dirv,
		    newer ? "yes" : "no");
	/* claimable at once: another instance's next claim round comes
	 * before this one's, which just ran */
	store_give_back(dl->d->relay->store, dl->e.stream_id, dl->e.alert_id,
	    dl->d->relay->cfg->claim_idle_ms, t, newer);
	delivery_free(dl);
	return 1;
}

/* script_meta's argument: with this relay's directory version "v", so
 * that the script says (newer_alive, alive.h) whether a relay with the
 * newer directory runs, when this one is behind. */
static json_t *
delivery_meta_args(const struct delivery *dl)
{
	const struct directory *dir = dl->d->relay->cfg->dir;
	json_t *args = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "aid",
	    dl->e.alert_id, "rid", dl->e.recipient_id, "sid", dl->e.stream_id,
	    "ch", dl->e.channel, "event", dl->e.event, "tier", dl->e.tier);

	if (dir != NULL)
		json_object_set_new(args, "v",
		    json_integer((json_int_t)dir->version));
	return args;
}

/* Taken by a relay that knows the recipient: a relay behind that has it
 * next counts its bound from its own give-back, not from one before
 * this relay tried (delivery_behind). */
static void
delivery_taken_back(struct delivery *dl)
{
	if (json_is_integer(json_object_get(dl->meta, "given_back_ms")) &&
	    dl->local_done == NULL) {
		store_taken_back(dl->d->relay->store, dl->e.stream_id,
		    dl->e.alert_id);
		json_object_del(dl->meta, "given_back_ms");
	}
}

static void
delivery_send(struct delivery *dl)
{
	const struct recipient_entry *r;

	/* Looked up on every attempt: a reload may have changed it. */
	r = relay_config_recipient(dl->d->relay->cfg, dl->e.recipient_id);
	if (dl->attempt < 1000000) /* retried for as long as it is open */
		dl->attempt++;
	if ((r == NULL ||
	        (strcmp(dl->e.channel, "sms") == 0 ? r->sms == NULL
	                                           : r->webhook_url == NULL)) &&
	    delivery_behind(dl))
		return;
	delivery_taken_back(dl);
	if (strcmp(dl->e.channel, "sms") == 0) {
		if (r == NULL || r->sms == NULL)
			delivery_cannot(dl, "recipient has no sms any more");
		else
			delivery_send_sms(dl, r);
	} else {
		if (r == NULL || r->webhook_url == NULL)
			delivery_cannot(dl,
			    "recipient has no webhook any more");
		else
			delivery_send_webhook(dl, r);
	}
}

/* The alert closed before this recipient was reached. */
static void
delivery_give_up(struct delivery *dl)
{
	char last[160];

	snprintf(last, sizeof(last), "%.150s",
	    dl->reason[0] ? dl->reason : "no answer before a restart");
	snprintf(dl->reason, sizeof(dl->reason),
	    "alert %.16s before it went through; last error: %s",
	    delivery_meta(dl, "state"), last);
	dl->state = D_FAIL;
	delivery_step(dl);
}

/* The body of a webhook: 0, or -1 with the delivery dropped or failed.  A
 * duress alarm whose ciphertexts the retention sweep has taken (a duress
 * cancel long after the close) still goes out: as alert.duress without
 * content, with the routing metadata of a notice (docs/PROTOCOL.md). */
static int
delivery_webhook_body(struct delivery *dl, const json_t *m)
{
	const char *event = dl->e.event;

	if ((delivery_is_alert(dl) || delivery_is_location(dl)) &&
	    json_object_get(m, "ciphertext") == NULL) {
		if (!delivery_is_alert(dl) ||
		    !json_is_true(json_object_get(m, "duress"))) {
			delivery_drop(dl, "no ciphertext for this recipient");
			return -1;
		}
		event = "alert.duress";
	}
	dl->body = webhook_body(event, dl->e.alert_id, m, dl->e.recipient_id,
	    dl->e.tier, delivery_device_alias(dl));
	if (dl->body == NULL) {
		delivery_cannot(dl, "cannot encode the webhook body");
		return -1;
	}
	dl->bodylen = strlen(dl->body);
	return 0;
}

static void
delivery_meta_cb(json_t *m, const char *err, void *arg)
{
	struct delivery *dl = arg;

	dl->sreq = NULL;
	if (m == NULL) {
		log_warnx("delivery alert=%s: reading alert: %s",
		    dl->e.alert_id, err);
		delivery_later(dl, RESTART_MS);
		return;
	}
	if (!json_is_true(json_object_get(m, "exists"))) {
		delivery_drop(dl, "alert is gone");
		return;
	}
	json_decref(dl->meta);
	dl->meta = json_incref(m);
	free(dl->body);
	dl->body = NULL;
	if (json_is_true(json_object_get(m, "done"))) {
		/* Made before a crash, not yet acknowledged in the group. */
		dl->state = D_DONE;
		delivery_step(dl);
		return;
	}
	/* Marked unreached before a restart or by another instance. */
	if (json_is_true(json_object_get(m, "unreached")) && !dl->unreached &&
	    !dl->e.replay) {
		dl->unreached = 1;
		if (dl->attempt < dl->d->relay->cfg->max_attempts)
			dl->attempt = (int)dl->d->relay->cfg->max_attempts;
	}
	/* Acknowledged, cancelled or expired meanwhile: no more alarms.
	 * One that never reached its recipient is given up now (dead
	 * letter); one replayed by an operator is sent all the same. */
	if ((delivery_is_alert(dl) || delivery_is_location(dl)) &&
	    strcmp(delivery_meta(dl, "state"), "open") != 0 && !dl->e.replay) {
		if (dl->unreached) {
			delivery_give_up(dl);
			return;
		}
		delivery_drop(dl, "alert no longer open");
		return;
	}
	if (strcmp(dl->e.channel, "webhook") == 0 &&
	    delivery_webhook_body(dl, m) != 0)
		return;
	dl->state = D_SEND;
	delivery_send(dl);
}

static json_t *
delivery_args(const struct delivery *dl)
{
	char now[RFC3339_LEN], ms[24];
	int64_t t = now_ms();

	time_rfc3339_ms(now, t);
	snprintf(ms, sizeof(ms), "%lld", (long long)t);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "aid",
	    dl->e.alert_id, "rid", dl->e.recipient_id, "sid", dl->e.stream_id,
	    "ch", dl->e.channel, "event", dl->e.event, "alias",
	    delivery_alias(dl), "now", now, "now_ms", ms);
}

static json_t *
delivery_fail_args(const struct delivery *dl)
{
	json_t *args = delivery_args(dl);

	json_object_set_new(args, "reason", json_string(dl->reason));
	json_object_set_new(args, "tier", json_string(dl->e.tier));
	if (dl->queued)
		json_object_set_new(args, "queued", json_true());
	return args;
}

static void
delivery_dead_cb(json_t *reply, const char *err, void *arg)
{
	const char *r = json_string_value(json_object_get(reply, "r"));

	if (r != NULL && strcmp(r, "ok") == 0)
		metrics.deadletters++;
	delivery_recorded_cb(reply, err, arg);
}

void
delivery_step(struct delivery *dl)
{
	struct store *st = dl->d->relay->store;
	if (dl->local_done != NULL && dl->state != D_FETCH &&
	    dl->state != D_SEND) {
		dl->local_done(&dl->e,
		    dl->state == D_DONE ? LOCAL_DONE
		        : dl->queued    ? LOCAL_QUEUED
		                        : LOCAL_FAILED,
		    dl->local_arg);
		delivery_free(dl);
		return;
	}
	if (dl->local_meta != NULL && dl->state == D_FETCH) {
		delivery_meta_cb(dl->local_meta, NULL, dl);
		return;
	}
	if (dl->fresh_meta != NULL && dl->state == D_FETCH) {
		json_t *m = dl->fresh_meta;

		dl->fresh_meta = NULL; /* a retry reads Redis */
		metrics.deliveries_fresh++;
		delivery_meta_cb(m, NULL, dl);
		json_decref(m);
		return;
	}
	switch (dl->state) {
	case D_FETCH:
		dl->sreq = store_eval(st, script_meta, delivery_meta_args(dl),
		    delivery_meta_cb, dl);
		break;
	case D_SEND:
		delivery_send(dl);
		break;
	case D_DONE:
		dl->sreq = store_eval(st, script_done, delivery_args(dl),
		    delivery_recorded_cb, dl);
		break;
	case D_FAIL:
		delivery_audit(dl, "given_up", dl->reason);
		if (!dl->queued) /* delivery_queued logged it */
			log_warnx("delivery alert=%s recipient=%s channel=%s "
			          "event=%s result=given_up attempts=%d "
			          "reason=\"%s\"",
			    dl->e.alert_id, dl->e.recipient_id, dl->e.channel,
			    dl->e.event, dl->attempt, dl->reason);
		dl->sreq = store_eval(st, script_fail, delivery_fail_args(dl),
		    delivery_dead_cb, dl);
		break;
	case D_DROP:
		dl->sreq = store_eval(st, script_drop,
		    json_pack("{s:s}", "sid", dl->e.stream_id),
		    delivery_recorded_cb, dl);
		break;
	}
}

struct delivery *
delivery_new(struct dispatch *d, const struct delivery_entry *e)
{
	struct delivery *dl = xcalloc(1, sizeof(*dl));

	dl->d = d;
	dl->e = *e;
	dl->by_stream.key = dl->e.stream_id;
	dl->by_stream.owner = dl;
	strindex_add(d->by_stream, &dl->by_stream);
	dl->timer = evtimer_new(d->relay->base, delivery_timer_cb, dl);
	TAILQ_INSERT_TAIL(&d->deliveries, dl, entry);
	d->ninflight++;
	metrics.deliveries_inflight = d->ninflight;
	webhook_id(e->event, e->alert_id, e->recipient_id, e->tier,
	    dl->webhook_id);
	return dl;
}
