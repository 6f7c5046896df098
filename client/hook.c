/* One webhook from the relay: authenticated, opened, printed once (hook.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_open.h"
#include "b64.h"
#include "envelope.h"
#include "frame.h"
#include "hook.h"
#include "keyfile.h"
#include "log.h"
#include "log_budget.h"
#include "notice_verify.h"
#include "util.h"
#include "webhook_sig.h"
#include "xmalloc.h"

static struct log_budget hook_refused_log = {"refused webhooks", 0, 0, 0};

/* Sets the reply; returns -1 so that checks read "return hook_refuse()". */
static int
hook_refuse(struct hook_reply *r, int status, const char *reason)
{
	r->status = status;
	r->reason = reason;
	return -1;
}

static int
hook_check_signature(const struct hook_config *cfg,
    const struct hook_request *req, struct hook_reply *r)
{
	if (webhook_verify(cfg->secret, cfg->secretlen, req->id, req->timestamp,
	        req->body, req->bodylen, req->signature) != 0)
		return hook_refuse(r, 401, "bad signature");
	return 0;
}

/* Standard Webhooks: a signed request is only good near its time, so a
 * captured one cannot be replayed later. */
static int
hook_check_timestamp(const struct hook_request *req, struct hook_reply *r)
{
	long ts, now = (long)time(NULL);

	if (parse_long(req->timestamp, 0, 1L << 40, &ts) != 0)
		return hook_refuse(r, 400, "bad timestamp");
	if (ts < now - HOOK_MAX_SKEW_S || ts > now + HOOK_MAX_SKEW_S)
		return hook_refuse(r, 400, "stale timestamp");
	return 0;
}

static int
hook_check_recipient(const struct hook_config *cfg, const struct hook_body *b,
    struct hook_reply *r)
{
	if (cfg->recipient_id != NULL &&
	    strcmp(b->recipient_id, cfg->recipient_id) != 0)
		return hook_refuse(r, 422, "addressed to another recipient");
	return 0;
}

/* Every recipient key we hold (the current one, and earlier ones after a
 * rotation) with every key the device may have signed with. */
static int
hook_open(struct hook_config *cfg, const struct hook_body *b, struct alert *a,
    struct hook_reply *r)
{
	unsigned char dpk[HOOK_MAX_DEVICE_KEYS][crypto_sign_PUBLICKEYBYTES];
	unsigned char *ct;
	const char *reason = "cannot open";
	size_t ctlen, nd, i, j;
	int rc = -1;

	nd = hook_keys_device(&cfg->keys, b->device_id, b->created_at, dpk);
	if (nd == 0)
		return hook_refuse(r, 422, "unknown device");
	if (b64_decode(b->ciphertext, strlen(b->ciphertext), &ct, &ctlen) != 0)
		return hook_refuse(r, 400, "ciphertext is not base64");
	for (i = 0; rc != 0 && i < cfg->keys.nkeys; i++)
		for (j = 0; rc != 0 && j < nd; j++)
			rc = alert_open(ct, ctlen, cfg->keys.rpk[i],
			    cfg->keys.rsk[i], dpk[j], a, &reason);
	free(ct);
	if (rc != 0)
		return hook_refuse(r, 422, reason);
	return 0;
}

/* The relay routes on the outer fields; they must be what the device
 * signed inside, or a relay could relabel an alert. */
static int
hook_check_match(const struct hook_body *b, const struct alert *a,
    struct hook_reply *r)
{
	if (strcmp(a->alert_id, b->alert_id) != 0 ||
	    strcmp(a->device_id, b->device_id) != 0 ||
	    strcmp(a->alert_type, b->alert_type) != 0 ||
	    strcmp(a->created_at, b->created_at) != 0)
		return hook_refuse(r, 422,
		    "inner alert does not match envelope");
	/* A relay that turned a drill into an alarm, or an alarm into a
	 * drill, is caught here: the device signed which it is. */
	if (a->drill != b->drill)
		return hook_refuse(r, 422,
		    "drill flag does not match what the device signed");
	/* A later position must not pass as the alert (raised at the fix's
	 * time, with the new position): the device signed which it is.  The
	 * other way round is harmless (the newest position wins, and an
	 * alert's is the oldest), and devices from before the flag send
	 * updates without it. */
	if (a->update && strcmp(b->type, "alert.location") != 0)
		return hook_refuse(r, 422,
		    "a later position presented as an alert");
	return 0;
}

/* A later position is new once per fix: "location:" and 32 hex digits
 * of a hash of its alert id and created_at (checked against the sealed
 * one before it is shown), the shape of every other key. */
static void
hook_key_location(const struct hook_body *b, char key[SHOWN_KEY_MAX + 1])
{
	unsigned char h[16];
	char hex[sizeof(h) * 2 + 1];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)b->alert_id,
	    strlen(b->alert_id) + 1);
	crypto_generichash_update(&st, (const unsigned char *)b->created_at,
	    strlen(b->created_at));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(key, SHOWN_KEY_MAX + 1, "location:%s", hex);
}

/* The key an alert, or a notice about it, is remembered by.  An alert
 * is new only the first time its sealed content is shown here, whatever
 * the event (raised, or escalated to a later tier), the tier or the
 * webhook-id: the relay never sends one recipient the same alert twice
 * except as a retry, so a second showing is a replay or a reminder, and
 * either way not a new alert.  A notice is remembered by its kind, a
 * later position (alert.location) by the time of its fix. */
void
hook_key(const struct hook_body *b, char key[SHOWN_KEY_MAX + 1])
{
	const char *kind = "alert";

	if (strcmp(b->type, "alert.acknowledged") == 0)
		kind = "acknowledged";
	else if (strcmp(b->type, "alert.cancelled") == 0)
		kind = "cancelled";
	else if (strcmp(b->type, "alert.duress") == 0)
		kind = "duress"; /* shown even after the alert itself */
	else if (strcmp(b->type, "alert.location") == 0) {
		hook_key_location(b, key);
		return;
	} else if (strncmp(b->type, "device.", 7) == 0)
		kind = b->type; /* its alert_id is the event's own id */
	snprintf(key, SHOWN_KEY_MAX + 1, "%s:%s", kind, b->alert_id);
}

/* Writes a verified alert out, or hands it to cfg->store. */
static int
hook_emit(struct hook_config *cfg, const struct hook_request *req,
    const struct hook_body *b, const struct alert *a,
    const struct hook_verdict *v)
{
	if (cfg->store != NULL)
		return cfg->store(cfg->store_arg, req, b, a, v);
	return hook_print(b, req->id, a, v, cfg->pretty);
}

/* A cancel or an acknowledgement is the device's or a recipient's
 * only when signed so (notice_verify.c, as alertconsole checks it);
 * otherwise it is the relay's word, and the receiver says so. */
static void
hook_notice_word(struct hook_config *cfg, const struct hook_body *b,
    struct hook_notice *n)
{
	enum notice_cancel k;

	if (strcmp(b->type, "alert.acknowledged") == 0)
		n->vouched_by = notice_verify_ack(&cfg->keys, b->o, b->alert_id,
		                    NULL, n->signer, sizeof(n->signer))
		    ? "recipient"
		    : "relay";
	else if (strcmp(b->type, "alert.cancelled") == 0) {
		k = notice_verify_cancel(&cfg->keys, b->o, b->alert_id,
		    b->device_id);
		n->vouched_by = k == NOTICE_RELAY ? "relay" : "device";
		/* a relay passing a duress cancel off as a real one */
		n->duress = k == NOTICE_DURESS;
	}
}

static int
hook_emit_notice(struct hook_config *cfg, const struct hook_request *req,
    const struct hook_body *b, int repeat)
{
	struct hook_notice n;
	struct hook_verdict v;

	if (cfg->store == NULL) {
		memset(&n, 0, sizeof(n));
		n.repeat = repeat;
		hook_notice_word(cfg, b, &n);
		return hook_print_notice(b, req->id, &n, cfg->pretty);
	}
	memset(&v, 0, sizeof(v));
	v.repeat = repeat;
	return cfg->store(cfg->store_arg, req, b, NULL, &v);
}

/* A notice (acknowledged, cancelled) has nothing sealed to open: the
 * webhook signature authenticates the relay, and only a signed cancel
 * or statement in it is more than the relay's word (hook_notice_word). */
int
hook_open_alert(struct hook_config *cfg, const struct hook_body *b,
    struct alert *a, struct hook_reply *r)
{
	if (hook_open(cfg, b, a, r) != 0)
		return -1;
	return hook_check_match(b, a, r);
}

static void
hook_notice(struct hook_config *cfg, const struct hook_request *req,
    const struct hook_body *b, struct hook_reply *r)
{
	char key[SHOWN_KEY_MAX + 1];
	int repeat;

	hook_key(b, key);
	repeat = shown_has(cfg->shown, key);
	if (hook_emit_notice(cfg, req, b, repeat) != 0) {
		hook_refuse(r, 500, "cannot write the notice out");
		return;
	}
	seen_add(cfg->seen, req->id);
	(void)shown_add(cfg->shown, key);
	log_info("%s of alert %s received%s, webhook %s", b->type, b->alert_id,
	    repeat ? " again (repeat)" : "", req->id);
}

/* Repeat, age and revocation, once the signed created_at is known to
 * be the device's; -1 when an old alert is to be refused.  A revoked
 * device's alert is still shown (one it sent before it was lost still
 * counts, and the directory does not say when), marked. */
static int
hook_judge(struct hook_config *cfg, const struct alert *a, const char *key,
    struct hook_verdict *v, struct hook_reply *r)
{
	time_t created;

	memset(v, 0, sizeof(*v));
	v->repeat = shown_has(cfg->shown, key);
	if (time_rfc3339_parse(a->created_at, &created) == 0)
		v->age = (long)(time(NULL) - created);
	v->old = cfg->max_age > 0 && v->age > cfg->max_age;
	v->revoked = hook_keys_revoked(&cfg->keys, a->device_id);
	/* A missed check-in a relay let go before its time says so by
	 * its signed created_at (docs/PROTOCOL.md, "Check-in"). */
	v->early = v->age < -HOOK_CLOCK_SKEW_S;
	if (v->old && cfg->refuse_old && !v->repeat)
		return hook_refuse(r, 422, "created_at older than --max-age");
	return 0;
}

/* A later position is written out only for an alert written out here
 * before (raised, escalated, or its duress): sent alone, its alert
 * held back by a relay, it would be the only card of the alarm, raised
 * at the fix's time and place.  receive has nowhere to hold it until
 * the alert comes, so it refuses it; the console (cfg->store) keeps it
 * and shows it only with its alert (console_db.c). */
static int
hook_check_shown(const struct hook_config *cfg, const struct hook_body *b,
    struct hook_reply *r)
{
	char key[SHOWN_KEY_MAX + 1];

	if (cfg->store != NULL || strcmp(b->type, "alert.location") != 0)
		return 0;
	snprintf(key, sizeof(key), "alert:%s", b->alert_id);
	if (shown_has(cfg->shown, key))
		return 0;
	snprintf(key, sizeof(key), "duress:%s", b->alert_id);
	if (shown_has(cfg->shown, key))
		return 0;
	return hook_refuse(r, 422,
	    "a later position of an alert not shown here");
}

/* An alert: open it, check it, write it out. */
static void
hook_alert(struct hook_config *cfg, const struct hook_request *req,
    const struct hook_body *b, struct hook_reply *r)
{
	char key[SHOWN_KEY_MAX + 1];
	struct hook_verdict v;
	struct alert a;

	memset(&a, 0, sizeof(a));
	hook_key(b, key);
	if (hook_open_alert(cfg, b, &a, r) == 0 &&
	    hook_check_shown(cfg, b, r) == 0 &&
	    hook_judge(cfg, &a, key, &v, r) == 0) {
		if (hook_emit(cfg, req, b, &a, &v) != 0)
			hook_refuse(r, 500, "cannot write the alert out");
		else {
			/* Only what was written out counts as seen. */
			seen_add(cfg->seen, req->id);
			(void)shown_add(cfg->shown, key);
			log_info("alert %s (%s) from %s delivered%s%s, age "
			         "%lds, webhook %s",
			    b->alert_id, b->alert_type, b->device_id,
			    v.repeat ? ", a repeat" : "",
			    v.old ? ", older than --max-age" : "", v.age,
			    req->id);
		}
	}
	alert_clear(&a);
}

static void
hook_deliver(struct hook_config *cfg, const struct hook_request *req,
    struct hook_reply *r)
{
	struct hook_body b;

	if (hook_parse_body(req, &b, r) == 0 &&
	    hook_check_recipient(cfg, &b, r) == 0) {
		if (hook_is_sealed(&b))
			hook_alert(cfg, req, &b, r);
		else
			hook_notice(cfg, req, &b, r);
	}
	json_decref(b.o);
}

void
hook_handle(struct hook_config *cfg, const struct hook_request *req,
    struct hook_reply *r)
{
	r->status = 200;
	r->reason = "ok";
	if (hook_parse_headers(req, r) == 0 &&
	    hook_check_signature(cfg, req, r) == 0 &&
	    hook_check_timestamp(req, r) == 0) {
		if (seen_has(cfg->seen, req->id)) {
			r->reason = "already received";
			log_info("webhook %s already received", req->id);
		} else
			hook_deliver(cfg, req, r);
	}
	/* Anyone who reaches the listener can be refused at will: a few
	 * lines a window, then how many were left out. */
	if (r->status != 200 && log_budget_take(&hook_refused_log))
		log_warnx("refused webhook %s: %d %s",
		    req->id != NULL && hook_id_valid(req->id) ? req->id : "-",
		    r->status, r->reason);
}
