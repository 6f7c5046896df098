/*
 * What a webhook request says, before any key is used: its Standard
 * Webhooks headers and its JSON body, checked field by field.  Pure
 * functions of the request, so the fuzzer runs exactly what `alertctl
 * receive` runs on bytes from the network.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "hook.h"
#include "util.h"

/* Events that carry the sealed alert (to a recipient of the first tier,
 * or of a later one, or again with a later position: alert.location),
 * and notices about an alert that carry none. */
static const char *const hook_alert_events[] = {"alert.raised",
    "alert.escalated", "alert.duress", "alert.location"};
static const char *const hook_notice_events[] = {"alert.acknowledged",
    "alert.cancelled", "device.offline", "device.online",
    "device.checkin_failed"};

static int
hook_parse_in(const char *type, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(type, list[i]) == 0)
			return 1;
	return 0;
}

#define HOOK_EVENT_IS(type, list)                                              \
	hook_parse_in(type, list, sizeof(list) / sizeof(list[0]))

int
hook_is_alert_event(const char *type)
{
	return HOOK_EVENT_IS(type, hook_alert_events);
}

int
hook_is_first_event(const char *type)
{
	return HOOK_EVENT_IS(type, hook_alert_events) &&
	    strcmp(type, "alert.location") != 0;
}

static int
hook_parse_refuse(struct hook_reply *r, int status, const char *reason)
{
	r->status = status;
	r->reason = reason;
	return -1;
}

int
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

int
hook_parse_headers(const struct hook_request *req, struct hook_reply *r)
{
	if (req->id == NULL || req->timestamp == NULL || req->signature == NULL)
		return hook_parse_refuse(r, 400, "missing webhook headers");
	if (!hook_id_valid(req->id))
		return hook_parse_refuse(r, 400, "bad webhook-id");
	return 0;
}

/* A duress alarm whose sealed alert the relay no longer holds (its
 * retention period ran out before the duress cancel): alert.duress with
 * "duress": true and no ciphertext, the relay's word like any notice. */
static int
hook_parse_duress_notice(const struct hook_body *b)
{
	return strcmp(b->type, "alert.duress") == 0 &&
	    json_is_true(json_object_get(b->o, "duress"));
}

int
hook_is_sealed(const struct hook_body *b)
{
	return hook_is_alert_event(b->type) && b->ciphertext != NULL;
}

void
hook_outer_alert(const struct hook_body *b, struct alert *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->alert_id, sizeof(a->alert_id), "%s", b->alert_id);
	snprintf(a->device_id, sizeof(a->device_id), "%s",
	    b->device_id != NULL ? b->device_id : "");
	snprintf(a->alert_type, sizeof(a->alert_type), "%s",
	    b->alert_type != NULL ? b->alert_type : "");
	snprintf(a->created_at, sizeof(a->created_at), "%s",
	    b->created_at != NULL ? b->created_at : "");
	a->drill = b->drill;
}

static int
hook_parse_fields(struct hook_body *b)
{
	const json_t *drill;
	time_t t;

	b->type = json_str(b->o, "type");
	b->alert_id = json_str(b->o, "alert_id");
	b->device_id = json_str(b->o, "device_id");
	b->alert_type = json_str(b->o, "alert_type");
	b->created_at = json_str(b->o, "created_at");
	b->received_at = json_str(b->o, "received_at");
	b->recipient_id = json_str(b->o, "recipient_id");
	b->ciphertext = json_str(b->o, "ciphertext");
	drill = json_object_get(b->o, "drill");
	if (drill != NULL && !json_is_boolean(drill))
		return -1;
	b->drill = json_is_true(drill);
	if (b->type == NULL || b->alert_id == NULL || b->recipient_id == NULL ||
	    !alert_id_valid(b->alert_id) || !id_valid(b->recipient_id))
		return -1;
	if (HOOK_EVENT_IS(b->type, hook_notice_events))
		return 0; /* the rest is optional in a notice */
	if (b->device_id == NULL || b->alert_type == NULL ||
	    b->created_at == NULL || b->received_at == NULL ||
	    (b->ciphertext == NULL && !hook_parse_duress_notice(b)))
		return -1;
	if (!id_valid(b->device_id) || !alert_type_valid(b->alert_type) ||
	    time_rfc3339_parse(b->created_at, &t) != 0 ||
	    time_rfc3339_parse(b->received_at, &t) != 0)
		return -1;
	return 0;
}

int
hook_parse_body(const struct hook_request *req, struct hook_body *b,
    struct hook_reply *r)
{
	json_error_t jerr;

	memset(b, 0, sizeof(*b));
	b->o =
	    json_loadb(req->body, req->bodylen, JSON_REJECT_DUPLICATES, &jerr);
	if (b->o == NULL || !json_is_object(b->o))
		return hook_parse_refuse(r, 400, "body is not a JSON object");
	if ((b->type = json_str(b->o, "type")) == NULL ||
	    (!HOOK_EVENT_IS(b->type, hook_alert_events) &&
	        !HOOK_EVENT_IS(b->type, hook_notice_events)))
		return hook_parse_refuse(r, 400, "unsupported event type");
	if (hook_parse_fields(b) != 0)
		return hook_parse_refuse(r, 400,
		    "missing or malformed field in body");
	return 0;
}
