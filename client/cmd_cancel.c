/*
 * alertctl cancel: the device withdraws one of its alerts; the relay
 * stops escalating it and tells everyone already notified
 * (docs/PROTOCOL.md, "Cancel").  The cancel is signed like an envelope,
 * under its own context (SIGCTX_CANCEL).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "i18n.h"
#include "alertctl.h"
#include "frame.h"
#include "device.h"
#include "duress_cancel.h"
#include "envelope.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "util.h"

static json_t *
cmd_cancel_frame(const struct device *d, const struct device_opts *o)
{
	json_t *frame;
	int done;

	/* With PINs: asked and checked, cancel v2 (NULL: a wrong PIN) */
	frame = duress_cancel_frame(d, o->alert_id, &done);
	if (done)
		return frame;
	return duress_cancel_plain(d, o->alert_id);
}

static int
cmd_cancel_answered(const json_t *answer, void *arg)
{
	const struct device_opts *o = arg;

	(void)answer;
	return out_line(_(MSG_CANCELLED), o->alert_id) == 0 ? EXIT_OK
	                                                    : EXIT_FAIL;
}

int
cmd_cancel(int argc, char **argv, struct globals *g)
{
	static const struct device_command c = {"cancel", DEVICE_OPT_ALERT_ID,
	    "cancelled", cmd_cancel_frame, cmd_cancel_answered,
	    duress_cancel_refused};

	return device_command_run(&c, argc, argv, g);
}
