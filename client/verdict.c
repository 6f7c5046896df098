/*
 * send's last line when it gives up (verdict.h).  It goes to stderr
 * without the log prefix: a person reads it, in a hurry.
 */
#include <stdarg.h>
#include <stdio.h>

#include "alertctl.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "verdict.h"

static void verdict_print(const char *fmt, ...) PRINTFLIKE(1, 2);

static int verdict_drill;

void
verdict_set_drill(int drill)
{
	verdict_drill = drill;
}

/* A drill's verdict: that it failed matters, but it is no emergency. */
static int
verdict_of_drill(int confirmed_only, const char *why, int rc)
{
	verdict_print(confirmed_only
	        ? _("DRILL NOT CONFIRMED: nobody is known to have received "
	            "the drill. This is no emergency; tell your administrator. "
	            "(%s)")
	        : _("DRILL NOT DELIVERED: the drill did not get through. This "
	            "is no emergency; tell your administrator. (%s)"),
	    why);
	return rc;
}

static void
verdict_print(const char *fmt, ...)
{
	va_list ap;

	/* Whatever stdout still holds comes first. */
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

int
verdict_not_delivered(const char *why)
{
	if (verdict_drill)
		return verdict_of_drill(0, why, EXIT_FAIL);
	verdict_print(_(MSG_VERDICT_NOT_DELIVERED), why);
	return EXIT_FAIL;
}

int
verdict_revoked(const struct client_config *cfg, const char *why)
{
	return verdict_revoked_contact(cfg != NULL ? cfg->contact : NULL, why);
}

int
verdict_revoked_contact(const char *who, const char *why)
{
	char contact[CLIENT_CONTACT_MAX + 1];

	if (verdict_drill)
		return verdict_of_drill(0, why, EXIT_REVOKED);
	if (who != NULL)
		out_clean(who, contact, sizeof(contact));
	else
		snprintf(contact, sizeof(contact), "%s", _(MSG_VERDICT_ADMIN));
	verdict_print(_(MSG_VERDICT_REVOKED), contact, why);
	return EXIT_REVOKED;
}

int
verdict_unconfirmed(const char *why)
{
	if (verdict_drill)
		return verdict_of_drill(1, why, EXIT_UNCONFIRMED);
	verdict_print(_(MSG_VERDICT_UNCONFIRMED), why);
	return EXIT_UNCONFIRMED;
}
