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
#include "util.h"
#include "webhook_sig.h"
#include "xmalloc.h"

/* Events that carry the sealed alert (to a recipient of the first tier,
 * or of a later one), and notices about an alert that carry none. */
static const char *const hook_alert_events[] = {"alert.raised",
    "alert.escalated"};
static const char *const hook_notice_events[] = {"alert.acknowledged",
    "alert.cancelled"};

static int
hook_event_in(const char *type, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(type, list[i]) == 0)
			return 1;
	return 0;
}

#define HOOK_EVENT_IS(type, list)                                              \
	hook_event_in(type, list, sizeof(list) / sizeof(list[0]))

/* Sets the reply; returns -1 so that checks read "return hook_refuse()". */
static int
hook_refuse(struct hook_reply *r, int status, const char *reason)
{
	r->status = status;
	r->reason = reason;
	return -1;
}

/* Printable ASCII without spaces: safe to log and to keep. */
static int
hook_id_valid(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > HOOK_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return 0;
	return 1;
}

static int
hook_check_headers(const struct hook_request *req, struct hook_reply *r)
{
	if (req->id == NULL || req->timestamp == NULL || req->signature == NULL)
		return hook_refuse(r, 400, "missing webhook headers");
	if (!hook_id_valid(req->id))
		return hook_refuse(r, 400, "bad webhook-id");
	return 0;
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
hook_body_fields(struct hook_body *b)
{
	time_t t;

	b->type = json_str(b->o, "type");
	b->alert_id = json_str(b->o, "alert_id");
	b->device_id = json_str(b->o, "device_id");
	b->alert_type = json_str(b->o, "alert_type");
	b->created_at = json_str(b->o, "created_at");
	b->received_at = json_str(b->o, "received_at");
	b->recipient_id = json_str(b->o, "recipient_id");
	b->ciphertext = json_str(b->o, "ciphertext");
	if (b->type == NULL || b->alert_id == NULL || b->recipient_id == NULL ||
	    !alert_id_valid(b->alert_id) || !id_valid(b->recipient_id))
		return -1;
	if (HOOK_EVENT_IS(b->type, hook_notice_events))
		return 0; /* the rest is optional in a notice */
	if (b->device_id == NULL || b->alert_type == NULL ||
	    b->created_at == NULL || b->received_at == NULL ||
	    b->ciphertext == NULL)
		return -1;
	if (!id_valid(b->device_id) || !alert_type_valid(b->alert_type) ||
	    time_rfc3339_parse(b->created_at, &t) != 0 ||
	    time_rfc3339_parse(b->received_at, &t) != 0)
		return -1;
	return 0;
}

static int
hook_parse_body(const struct hook_request *req, struct hook_body *b,
    struct hook_reply *r)
{
	json_error_t jerr;

	memset(b, 0, sizeof(*b));
	b->o =
	    json_loadb(req->body, req->bodylen, JSON_REJECT_DUPLICATES, &jerr);
	if (b->o == NULL || !json_is_object(b->o))
		return hook_refuse(r, 400, "body is not a JSON object");
	if ((b->type = json_str(b->o, "type")) == NULL ||
	    (!HOOK_EVENT_IS(b->type, hook_alert_events) &&
	        !HOOK_EVENT_IS(b->type, hook_notice_events)))
		return hook_refuse(r, 400, "unsupported event type");
	if (hook_body_fields(b) != 0)
		return hook_refuse(r, 400,
		    "missing or malformed field in body");
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
	return 0;
}

/* A notice (acknowledged, cancelled) has nothing sealed to open: it is
 * the relay's word, authenticated by the webhook signature only. */
static void
hook_notice(struct hook_config *cfg, const struct hook_request *req,
    const struct hook_body *b, struct hook_reply *r)
{
	if (hook_print_notice(b, req->id, cfg->pretty) != 0) {
		hook_refuse(r, 500, "cannot write the notice out");
		return;
	}
	seen_add(cfg->seen, req->id);
	log_info("%s of alert %s received, webhook %s", b->type, b->alert_id,
	    req->id);
}

/* An alert: open it, check it, write it out. */
static void
hook_alert(struct hook_config *cfg, const struct hook_request *req,
    const struct hook_body *b, struct hook_reply *r)
{
	struct alert a;

	memset(&a, 0, sizeof(a));
	if (hook_open(cfg, b, &a, r) == 0 && hook_check_match(b, &a, r) == 0) {
		if (hook_print(b, req->id, &a, cfg->pretty) != 0)
			hook_refuse(r, 500, "cannot write the alert out");
		else {
			/* Only what was written out counts as seen. */
			seen_add(cfg->seen, req->id);
			log_info("alert %s (%s) from %s delivered, webhook %s",
			    b->alert_id, b->alert_type, b->device_id, req->id);
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
		if (HOOK_EVENT_IS(b.type, hook_notice_events))
			hook_notice(cfg, req, &b, r);
		else
			hook_alert(cfg, req, &b, r);
	}
	json_decref(b.o);
}

void
hook_handle(struct hook_config *cfg, const struct hook_request *req,
    struct hook_reply *r)
{
	r->status = 200;
	r->reason = "ok";
	if (hook_check_headers(req, r) == 0 &&
	    hook_check_signature(cfg, req, r) == 0 &&
	    hook_check_timestamp(req, r) == 0) {
		if (seen_has(cfg->seen, req->id)) {
			r->reason = "already received";
			log_info("webhook %s already received", req->id);
		} else
			hook_deliver(cfg, req, r);
	}
	if (r->status != 200)
		log_warnx("refused webhook %s: %d %s",
		    req->id != NULL && hook_id_valid(req->id) ? req->id : "-",
		    r->status, r->reason);
}
