/*
 * alertctl list: the recent alerts of this device, newest first, one
 * line each (docs/PROTOCOL.md, "Status and list").
 */
#include <stdio.h>

#include "i18n.h"
#include "alertctl.h"
#include "device.h"
#include "frame.h"
#include "i18n.h"
#include "out.h"
#include "receipt.h"

static json_t *
cmd_list_frame(const struct device *d, const struct device_opts *o)
{
	json_t *frame = json_pack("{s:s}", "type", "list");

	(void)d;
	if (o->limit > 0)
		json_object_set_new(frame, "limit", json_integer(o->limit));
	return frame;
}

/* created_at (local, with zone) alert_id type state ref, each cleaned,
 * "-" when absent; --json is the machine's form. */
static void
cmd_list_alert(const json_t *a)
{
	static const char *const members[] = {"alert_id", "alert_type", "state",
	    "ref"};
	char when[64], v[4][80], word[RECEIPT_WORD_MAX];
	const char *s;
	size_t i;

	receipt_time(json_str(a, "created_at"), RECEIPT_TIME_FULL, when,
	    sizeof(when));
	for (i = 0; i < 4; i++) {
		s = json_str(a, members[i]);
		/* type and state in the reader's language */
		if (s != NULL && (i == 1 || i == 2))
			s = receipt_word(s, word, sizeof(word));
		out_clean(s != NULL ? s : "-", v[i], sizeof(v[i]));
	}
	out_line("%s  %-32s  %-6s  %-12s  %s%s", when, v[0], v[1], v[2], v[3],
	    json_is_true(json_object_get(a, "drill")) ? _("  DRILL") : "");
}

static int
cmd_list_answered(const json_t *answer, void *arg)
{
	const struct device_opts *o = arg;
	json_t *alerts = json_object_get(answer, "alerts"), *a;
	size_t i;

	if (o->json)
		return out_json(answer) == 0 ? EXIT_OK : EXIT_FAIL;
	json_array_foreach(alerts, i, a)
	{
		cmd_list_alert(a);
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_FAIL;
}

int
cmd_list(int argc, char **argv, struct globals *g)
{
	static const struct device_command c = {"list",
	    DEVICE_OPT_JSON | DEVICE_OPT_LIMIT, "list", cmd_list_frame,
	    cmd_list_answered, NULL};

	return device_command_run(&c, argc, argv, g);
}
