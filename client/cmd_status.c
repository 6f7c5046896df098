/*
 * alertctl status: the state, reference and history of one alert of
 * this device, as the relay knows it (docs/PROTOCOL.md, "Status and
 * list").
 */
#include <stdio.h>

#include "i18n.h"
#include "alertctl.h"
#include "device.h"
#include "frame.h"
#include "i18n.h"
#include "out.h"
#include "receipt.h"
#include "receipt_ack.h"

static json_t *
cmd_status_frame(const struct device *d, const struct device_opts *o)
{
	(void)d;
	return json_pack("{s:s, s:s}", "type", "status", "alert_id",
	    o->alert_id);
}

/* "name:     value", the value cleaned, "-" when absent. */
static void
cmd_status_field(const char *name, const char *value)
{
	char clean[RECEIPT_LINE_MAX];

	out_line("%-11s %s", name,
	    out_clean(value != NULL ? value : "-", clean, sizeof(clean)));
}

static void
cmd_status_word(const char *name, const char *value)
{
	char word[RECEIPT_WORD_MAX];

	cmd_status_field(name,
	    value != NULL ? receipt_word(value, word, sizeof(word)) : NULL);
}

static void
cmd_status_time(const char *name, const char *at)
{
	char when[64];

	receipt_time(at, RECEIPT_TIME_FULL, when, sizeof(when));
	cmd_status_field(name, at != NULL ? when : NULL);
}

/* Who the alarm has not reached, after the history, so that it is the
 * last thing read: retried while the alert is open, or given up. */
static void
cmd_status_unreached(const json_t *answer)
{
	json_t *un = json_object_get(answer, "unreached"), *u;
	char who[RECEIPT_LINE_MAX], how[64], why[RECEIPT_LINE_MAX];
	char since[64];
	size_t i;

	if (!json_is_array(un))
		return;
	json_array_foreach(un, i, u)
	{
		out_clean(json_str(u, "recipient") ? json_str(u, "recipient")
		                                   : "?",
		    who, sizeof(who));
		out_clean(json_str(u, "channel") ? json_str(u, "channel") : "?",
		    how, sizeof(how));
		out_clean(json_str(u, "reason") ? json_str(u, "reason") : "?",
		    why, sizeof(why));
		receipt_time(json_str(u, "since"), RECEIPT_TIME_FULL, since,
		    sizeof(since));
		out_line(_("NOT REACHED: %s by %s since %s: %s (%s)"), who, how,
		    since, why,
		    json_is_true(json_object_get(u, "retrying"))
		        ? _("still trying")
		        : _("given up"));
	}
}

/* The answer as the relay gave it, but for the device's signed cancel
 * in a "cancelled" event (cancel, cancel_sig): that is for the device
 * to check (cancel_receipt.h), and shown it would tell a duress cancel
 * from a real one to whoever reads the screen. */
static int
cmd_status_json(const json_t *answer)
{
	json_t *copy = json_deep_copy(answer), *ev;
	size_t i;
	int rc;

	json_array_foreach(json_object_get(copy, "events"), i, ev)
	{
		json_object_del(ev, "cancel");
		json_object_del(ev, "cancel_sig");
	}
	rc = out_json(copy) == 0 ? EXIT_OK : EXIT_FAIL;
	json_decref(copy);
	return rc;
}

/* A long history comes with its newest events only (the relay says how
 * many it left out): said, so that nobody takes them for all of it. */
static void
cmd_status_omitted(const json_t *answer)
{
	json_int_t n =
	    json_integer_value(json_object_get(answer, "events_omitted"));

	if (n > 0)
		out_line(_("(%lld earlier events not shown)"), (long long)n);
}

static int
cmd_status_answered(const json_t *answer, void *arg)
{
	const struct device_opts *o = arg;
	json_t *events = json_object_get(answer, "events"), *ev;
	char line[RECEIPT_LINE_MAX], when[64];
	size_t i;

	if (o->json)
		return cmd_status_json(answer);
	/* Human lines, in the reader's language and local time; --json is
	 * the machine's form (alertctl(1)). */
	cmd_status_field(_("alert:"), o->alert_id);
	cmd_status_word(_("type:"), json_str(answer, "alert_type"));
	if (json_is_true(json_object_get(answer, "drill")))
		cmd_status_field(_("drill:"),
		    _("yes: a rehearsal, not a real alarm"));
	cmd_status_word(_("state:"), json_str(answer, "state"));
	cmd_status_field(_("ref:"), json_str(answer, "ref"));
	cmd_status_time(_("created:"), json_str(answer, "created_at"));
	cmd_status_time(_("received:"), json_str(answer, "received_at"));
	cmd_status_omitted(answer);
	json_array_foreach(events, i, ev)
	{
		receipt_time(json_str(ev, "at"), RECEIPT_TIME_FULL, when,
		    sizeof(when));
		receipt_ack_line(o->dev->av, ev, o->alert_id, 0, line,
		    sizeof(line));
		out_line("%s  %s", when, line);
	}
	cmd_status_unreached(answer);
	return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_FAIL;
}

int
cmd_status(int argc, char **argv, struct globals *g)
{
	static const struct device_command c = {"status",
	    DEVICE_OPT_ALERT_ID | DEVICE_OPT_JSON, "status", cmd_status_frame,
	    cmd_status_answered, NULL};

	return device_command_run(&c, argc, argv, g);
}
