/*
 * ar_send's first half, before any network: the alert checked and built,
 * then sealed to the recipients of the newest signed directory this
 * device holds and fsync'd in the outbox, or, for a resend of the same
 * alert, the outbox's stored bytes again (outbox.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_seal.h"
#include "ar_internal.h"
#include "envelope.h"
#include "i18n.h"
#include "log.h"
#include "outbox.h"
#include "util.h"
#include "xmalloc.h"

static int
ar_send_build(struct ar_op *op, const char *type, const char *message,
    const struct ar_location *loc, const char *again_id)
{
	struct alert *a = &op->a;

	if (type == NULL || !alert_type_valid(type))
		return AR_E_INVAL;
	if (message != NULL && strlen(message) > ALERT_MESSAGE_MAX)
		return AR_E_INVAL;
	if (again_id != NULL && !alert_id_valid(again_id))
		return AR_E_INVAL;
	if (loc != NULL) {
		a->has_location = 1;
		a->lat = loc->lat;
		a->lon = loc->lon;
		a->has_accuracy = loc->accuracy_m >= 0;
		a->accuracy_m = a->has_accuracy ? loc->accuracy_m : 0;
		if (!isfinite(a->lat) || !isfinite(a->lon) ||
		    !isfinite(loc->accuracy_m) ||
		    !alert_location_valid(a->lat, a->lon, a->has_accuracy,
		        a->accuracy_m))
			return AR_E_INVAL;
	}
	if (again_id != NULL)
		memcpy(a->alert_id, again_id, sizeof(a->alert_id));
	else
		alert_id_generate(a->alert_id);
	memcpy(a->device_id, op->c->d.cfg.device_id, sizeof(a->device_id));
	snprintf(a->alert_type, sizeof(a->alert_type), "%s", type);
	time_rfc3339(a->created_at, time(NULL));
	a->drill = (op->flags & AR_SEND_DRILL) != 0;
	a->message = message != NULL ? xstrdup(message) : NULL;
	return AR_OK;
}

/* The stored envelope of a resend (*resent 1), else a new sealing,
 * stored and fsync'd.  An entry of another alert under this id stays:
 * the relay may have that one.  AR_E_STORAGE: sealed, but the outbox
 * could not keep it (the caller delivers it all the same). */
int
ar_send_seal(struct ar_op *op, int again, int *resent, struct sealed_alert *s)
{
	const struct client_config *cfg = &op->c->d.cfg;
	const unsigned char *sk = op->c->d.sk;
	unsigned char mac[OUTBOX_MAC_BYTES];
	char *dir = outbox_dir(cfg), err[256];
	int stored = 0;

	/* A resend's bytes are no newer than the directory in use. */
	op->sealed_dir = cfg->dir_version;
	outbox_mac(&op->a, cfg, sk, mac);
	if (again && dir != NULL)
		stored = outbox_load(dir, op->a.alert_id, mac,
		    sk + crypto_sign_SEEDBYTES, s);
	if (stored == 1) {
		*resent = 1;
		/* A sealing again keeps the time of the first attempt
		 * (alert_reseal.h): the relay's max_alert_age counts from
		 * it. */
		memcpy(op->a.created_at, s->created_at,
		    sizeof(op->a.created_at));
		free(dir);
		return AR_OK;
	}
	if (alert_seal(&op->a, cfg, sk, s, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		snprintf(op->reason, sizeof(op->reason), "%s", err);
		free(dir);
		return AR_E_SEAL;
	}
	if (stored == 0 &&
	    (dir == NULL || outbox_save(dir, s, mac, &op->hold) != 0)) {
		/* A new alert_id nobody else has: ours to seal again.  Not
		 * a resend's, which an earlier run may have sent. */
		if (!again)
			op->hold = OUTBOX_NOT_KEPT;
		snprintf(op->reason, sizeof(op->reason), "%s",
		    _("the alert could not be kept in the outbox: it is "
		      "sent now, but not kept to be sent again"));
		free(dir);
		return AR_E_STORAGE;
	}
	free(dir);
	return AR_OK;
}

int
ar_send_prepare(struct ar_op *op, const char *type, const char *message,
    const struct ar_location *loc, const char *again_id, int *resent,
    struct sealed_alert *sealed)
{
	int rc;

	*resent = 0;
	if ((rc = ar_send_build(op, type, message, loc, again_id)) != AR_OK)
		return rc;
	if (op->c->d.cfg.has_org && op->c->d.cfg.nrecipients == 0)
		return AR_E_NO_DIRECTORY;
	return ar_send_seal(op, again_id != NULL, resent, sealed);
}
