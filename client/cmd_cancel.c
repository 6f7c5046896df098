/*
 * alertctl cancel: the device withdraws one of its alerts; the relay
 * stops escalating it and tells everyone already notified
 * (docs/PROTOCOL.md, "Cancel").  The cancel is signed like an envelope,
 * under its own context (SIGCTX_CANCEL), or behind the device's PIN with
 * the duress flag inside (duress_cancel.h).  Through libalertclient's
 * ar_cancel (lib/alertclient.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "alertclient.h"
#include "i18n.h"
#include "pin_read.h"
#include "alertctl.h"
#include "device.h"
#include "msg.h"
#include "log.h"
#include "out.h"

struct cancel_run {
	int ended;
	int status;
	char why[1024];
};

static void
cmd_cancel_event(void *ctx, const struct ar_event *ev)
{
	struct cancel_run *cr = ctx;

	if (ev->type != AR_EV_DONE && ev->type != AR_EV_FAILED)
		return;
	cr->ended = 1;
	cr->status = ev->status;
	snprintf(cr->why, sizeof(cr->why), "%s",
	    ev->reason != NULL ? ev->reason : "");
}

/* The PIN, asked whenever the device has a PIN file, the same way
 * whichever PIN will be typed (a duress cancel looks like a real one). */
static int
cmd_cancel_start(ar_client *c, const char *alert_id)
{
	char pin[PIN_MAX + 2];
	int rc, ask = ar_client_needs_pin(c);

	if (ask && pin_read(_("PIN: "), pin, sizeof(pin)) != 0)
		pin[0] = '\0';
	rc = ar_cancel(c, alert_id, ask ? pin : NULL);
	sodium_memzero(pin, sizeof(pin));
	if (rc != AR_OK)
		log_errorx("%s",
		    ar_client_reason(c)[0] != '\0' ? ar_client_reason(c)
		                                   : ar_strerror(rc));
	return rc;
}

/* The answer, or why there is none, as every request command says it. */
static int
cmd_cancel_told(const struct cancel_run *cr, const struct device_opts *o)
{
	char failure[64];

	if (cr->status == AR_OK)
		return out_line(_(MSG_CANCELLED), o->alert_id) == 0 ? EXIT_OK
		                                                    : EXIT_FAIL;
	snprintf(failure, sizeof(failure), "cancel %s", o->alert_id);
	/* a wrong PIN: told after its check, which runs off the loop */
	if (cr->status == AR_E_UNKNOWN_ALERT || cr->status == AR_E_PIN)
		log_errorx("%s", cr->why);
	else if (cr->status == AR_E_TIMEOUT)
		log_errorx(_(MSG_REQUEST_DEADLINE), failure, o->timeout_s,
		    cr->why);
	else
		log_errorx(_(MSG_REQUEST_REFUSED), failure, cr->why);
	return EXIT_FAIL;
}

int
cmd_cancel(int argc, char **argv, struct globals *g)
{
	struct ar_callbacks cb = {cmd_cancel_event};
	struct cancel_run cr;
	struct device_opts o;
	ar_client *c;
	int rc;

	if ((rc = device_opts_parse("cancel", DEVICE_OPT_ALERT_ID, argc, argv,
	         g, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	memset(&cr, 0, sizeof(cr));
	if (ar_client_new(&c, o.config, NULL, &cb, &cr, NULL, 0) != AR_OK)
		return EXIT_FAIL;
	ar_client_set_option(c, AR_OPT_TIMEOUT, o.timeout_s);
	if (cmd_cancel_start(c, o.alert_id) != AR_OK) {
		ar_client_free(c);
		return EXIT_FAIL;
	}
	while (!cr.ended)
		if (ar_client_step(c, 1000) != AR_OK)
			log_fatalx("the event loop failed");
	ar_client_free(c);
	return cmd_cancel_told(&cr, &o);
}
