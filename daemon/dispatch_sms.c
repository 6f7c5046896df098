/* The text of one SMS delivery, from the templates (dispatch_sms.h). */
#include <string.h>
#include <time.h>

#include "dispatch_sms.h"
#include "sms_template.h"
#include "util.h"

static const char *
dispatch_sms_meta(json_t *meta, const char *key)
{
	const char *v = json_string_value(json_object_get(meta, key));

	return v != NULL ? v : "";
}

/* 1 when RFC 3339 time a is before b, both readable. */
static int
dispatch_sms_earlier(const char *a, const char *b)
{
	time_t ta, tb;

	return time_rfc3339_parse(a, &ta) == 0 &&
	    time_rfc3339_parse(b, &tb) == 0 && ta < tb;
}

void
dispatch_sms_text(const struct relay_config *cfg, json_t *meta,
    const struct delivery_entry *e, char *out, size_t outlen)
{
	const char *device_id = dispatch_sms_meta(meta, "device_id");
	const struct device_entry *dev = relay_config_device(cfg, device_id);
	struct sms_template_vars v = {0};
	enum sms_template_kind kind;
	enum sms_language lang;
	const char *at, *tpl;

	v.type = dispatch_sms_meta(meta, "alert_type");
	v.alias = dev && dev->alias ? dev->alias : device_id;
	v.ref = dispatch_sms_meta(meta, "ref");
	v.by = dispatch_sms_meta(meta, "acked_by");
	v.tier = e->tier;
	v.drill = json_is_true(json_object_get(meta, "drill"));
	v.t = time(NULL);
	if (strcmp(e->event, "alert.raised") == 0 ||
	    strcmp(e->event, "alert.escalated") == 0 ||
	    strcmp(e->event, "alert.duress") == 0) {
		kind = strcmp(e->event, "alert.raised") == 0
		    ? SMS_TPL_RAISED
		    : SMS_TPL_ESCALATED;
		at = dispatch_sms_meta(meta, "received_at");
		/* a missed check-in is due at its release time, signed as
		 * its created_at and kept by the relay's timer: raised later
		 * (every relay down, Redis away), the SMS says when it was
		 * due, not when a relay came back */
		if (strcmp(v.type, "missed_checkin") == 0 &&
		    dispatch_sms_earlier(dispatch_sms_meta(meta, "created_at"),
		        at))
			at = dispatch_sms_meta(meta, "created_at");
		/* a revoked device's alarm (a check-in's) says so, as
		 * receivers mark it; a duress one says not to call back
		 * at all */
		v.revoked = dev != NULL && dev->revoked;
		/* after a duress cancel, every alarm SMS is the silent one */
		if (json_is_true(json_object_get(meta, "duress"))) {
			v.revoked = 0;
			kind = SMS_TPL_DURESS;
			at = dispatch_sms_meta(meta, "duress_at");
		}
	} else if (strcmp(e->event, "alert.acknowledged") == 0) {
		kind = SMS_TPL_ACKNOWLEDGED;
		at = dispatch_sms_meta(meta, "acked_at");
	} else {
		kind = SMS_TPL_CANCELLED;
		at = dispatch_sms_meta(meta, "cancelled_at");
	}
	/* the time of the event itself; now when the alert lacks it */
	time_rfc3339_parse(at, &v.t);
	tpl = relay_config_sms_template(cfg, kind, &lang);
	sms_template_expand(lang, tpl, &v, out, outlen);
}
