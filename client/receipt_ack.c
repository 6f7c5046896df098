/*
 * An acknowledgement in a receipt, described as the device's check
 * (ack_verify.h) found it: verified and by whom, the relay's word only,
 * or refused, loudly, as not an acknowledgement at all.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ack_verify.h"
#include "frame.h"
#include "i18n.h"
#include "out.h"
#include "receipt.h"
#include "receipt_ack.h"

#define RECEIPT_FIELD_MAX 128

static const char *
receipt_ack_str(const json_t *ev, const char *key, char *buf, size_t len)
{
	const char *v = json_str(ev, key);

	return out_clean(v != NULL ? v : "?", buf, len);
}

/* What the acknowledgement is, as the device's check found it
 * (ack_verify.h): said before who and when. */
static void
receipt_ack_verdict(const struct ack_check *c, char *buf, size_t len)
{
	switch (c->verdict) {
	case ACK_VERIFIED:
		snprintf(buf, len, "%s", _("signed by the person, verified"));
		break;
	case ACK_RELAY:
		snprintf(buf, len, "%s",
		    _("confirmed by the relay, not by the person themselves"));
		break;
	default:
		snprintf(buf, len, _("unverified: %s"), c->why);
		break;
	}
}

static void
receipt_ack_describe(void *arg, const json_t *ev, const char *alert_id,
    int with_time, char *buf, size_t len)
{
	char who[RECEIPT_FIELD_MAX * 2], how[RECEIPT_FIELD_MAX];
	char when[RECEIPT_FIELD_MAX], verdict[RECEIPT_FIELD_MAX];
	char msg[ACK_STMT_MESSAGE_MAX * 4 + 1], tail[RECEIPT_FIELD_MAX * 6];
	const char *head;
	struct ack_check c;

	ack_verify_event(arg, ev, alert_id, &c);
	if (c.verdict == ACK_REFUSED) {
		/* Said loudly: the official must not stop seeking help. */
		snprintf(buf, len,
		    _("WARNING: a receipt says a person took this alert, but "
		      "it is NOT genuine (%s): nobody has confirmed it; keep "
		      "seeking help"),
		    c.why);
		return;
	}
	if (c.verdict == ACK_VERIFIED)
		out_clean(c.who, who, sizeof(who));
	else
		receipt_ack_str(ev, "by", who, sizeof(who));
	receipt_ack_str(ev, "channel", how, sizeof(how));
	receipt_ack_verdict(&c, verdict, sizeof(verdict));
	head = strcmp(c.kind, "on_the_way") == 0 ? _("on the way: %s")
	    : strcmp(c.kind, "closed") == 0      ? _("closed by %s")
	                                         : _("acknowledged by %s");
	snprintf(tail, sizeof(tail), head, who);
	if (with_time) {
		receipt_time(json_str(ev, "at"), RECEIPT_TIME_SHORT, when,
		    sizeof(when));
		snprintf(buf, len, _("%s at %s via %s (%s)"), tail, when, how,
		    verdict);
	} else
		snprintf(buf, len, _("%s via %s (%s)"), tail, how, verdict);
	if (c.outcome[0] != '\0' && strlen(buf) + strlen(c.outcome) + 4 < len) {
		strcat(buf, ": ");
		strcat(buf, out_clean(c.outcome, who, sizeof(who)));
	}
	if (c.message[0] != '\0') {
		snprintf(tail, sizeof(tail), _("; message: \"%s\""),
		    out_clean(c.message, msg, sizeof(msg)));
		if (strlen(buf) + strlen(tail) < len)
			strcat(buf, tail);
	}
	sodium_memzero(&c, sizeof(c));
}

void
receipt_ack_line(struct ack_verifier *av, const json_t *ev,
    const char *alert_id, int with_time, char *buf, size_t len)
{
	receipt_describe_with(ev, alert_id, with_time, receipt_ack_describe, av,
	    buf, len);
}
