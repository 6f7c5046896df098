/*
 * The PIN of checkin extend and done, into the request's duress flag
 * (checkin_pin.h).
 */
#include <stdlib.h>

#include <sodium.h>

#include "checkin_pin.h"
#include "i18n.h"
#include "log.h"
#include "pin_read.h"
#include "pinfile.h"

/* The PIN checked as cancel checks it: the same Argon2id work whatever
 * is typed (a missing or short one too). */
static enum pin_match
checkin_pin_check(const struct pinfile *pf)
{
	char pin[PIN_MAX + 2];
	enum pin_match m;

	if (pin_read(_("PIN: "), pin, sizeof(pin)) != 0)
		pin[0] = '\0';
	m = pinfile_check(pf, pin);
	sodium_memzero(pin, sizeof(pin));
	return m;
}

int
checkin_pin(const struct device *d, struct checkin_req *r)
{
	struct pinfile pf;
	char *path = pinfile_path(d->cfg.device_key), err[512];
	int rc = pinfile_load(path, &pf, err, sizeof(err));
	enum pin_match m = PIN_DURESS;

	free(path);
	if (rc < 0) { /* there but unusable: not a wrong PIN */
		log_errorx("%s", err);
		return -1;
	}
	r->pinned = rc > 0;
	/* PINs cleared by force: no PIN asked, as on a device without */
	if (rc > 0 && pinfile_shows_pins(&pf))
		m = checkin_pin_check(&pf);
	sodium_memzero(&pf, sizeof(pf));
	if (m == PIN_WRONG) {
		log_errorx("%s",
		    r->op == CHECKIN_DONE
		        ? _("Wrong PIN. The check-in is not ended.")
		        : _("Wrong PIN. The check-in is not extended."));
		return -1;
	}
	r->duress = r->pinned && m == PIN_DURESS;
	return 0;
}
