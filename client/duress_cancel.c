/*
 * Cancel v2: a cancel behind a PIN, with the duress flag signed inside
 * (duress_cancel.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "duress_cancel.h"
#include "envelope.h"
#include "i18n.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "pin_read.h"
#include "pinfile.h"
#include "util.h"

/* {"type":"cancel","cancel":B64(CANCEL_JSON),"sig":B64} where
 * CANCEL_JSON is {"alert_id","created_at","device_id","duress":0|1,
 * "v":2}: the flag is one digit, so that a duress cancel and a real one
 * are the same number of bytes on the wire. */
/* This run sent a v2 cancel (one alertctl run, one cancel). */
static int duress_cancel_sent;

/* The cancel c, encoded with sorted keys and no spaces, signed under
 * ctx; takes c. */
static json_t *
duress_cancel_signed(json_t *c, const char *ctx, const struct device *d)
{
	unsigned char sig[crypto_sign_BYTES];
	char *text;
	json_t *frame;

	if (c == NULL ||
	    (text = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
		log_fatalx("cannot encode the cancel");
	json_decref(c);
	sig_sign_ctx(ctx, text, strlen(text), d->sk, sig);
	frame = frame_signed("cancel", "cancel", text, sig, sizeof(sig), "sig");
	sodium_memzero(text, strlen(text));
	free(text);
	return frame;
}

json_t *
duress_cancel_build(const struct device *d, const char *alert_id, int duress)
{
	char now[RFC3339_LEN];

	time_rfc3339(now, time(NULL));
	return duress_cancel_signed(json_pack("{s:s, s:s, s:s, s:i, s:i}",
	                                "alert_id", alert_id, "created_at", now,
	                                "device_id", d->cfg.device_id, "duress",
	                                duress ? 1 : 0, "v", CANCEL2_VERSION),
	    SIGCTX_CANCEL2, d);
}

json_t *
duress_cancel_frame(const struct device *d, const char *alert_id, int *done)
{
	struct pinfile pf;
	char err[512], pin[PIN_MAX + 2];
	char *path = pinfile_path(d->cfg.device_key);
	enum pin_match m = PIN_WRONG;
	int rc;

	*done = 0;
	rc = pinfile_load(path, &pf, err, sizeof(err));
	free(path);
	if (rc == 0)
		return NULL;
	*done = 1;
	if (rc < 0) {
		log_errorx("%s", err);
		return NULL;
	}
	/* Checked even when unreadable (too short, too long, none), so a
	 * wrong PIN of any kind takes the time of a right one. */
	if (pin_read(_("PIN: "), pin, sizeof(pin)) != 0)
		pin[0] = '\0';
	m = pinfile_check(&pf, pin);
	if (pin[0] == '\0')
		m = PIN_WRONG;
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(&pf, sizeof(pf));
	if (m == PIN_WRONG) {
		log_errorx("%s", _("Wrong PIN. The alert is not cancelled."));
		return NULL;
	}
	duress_cancel_sent = 1;
	return duress_cancel_build(d, alert_id, m == PIN_DURESS);
}

int
duress_cancel_refused(const json_t *o, void *opts)
{
	const struct device_opts *dopts = opts;
	const char *code = json_str(o, "code");

	if (!duress_cancel_sent || code == NULL ||
	    strcmp(code, "bad_signature") != 0)
		return -1;
	/* what cmd_cancel_answered prints, in the reader's language */
	return out_line(_(MSG_CANCELLED), dopts->alert_id) == 0 ? EXIT_OK
	                                                        : EXIT_FAIL;
}

/* {"type":"cancel","cancel":B64(CANCEL_JSON),"sig":B64}, where
 * CANCEL_JSON has sorted keys and no spaces; created_at is now. */
json_t *
duress_cancel_plain(const struct device *d, const char *alert_id)
{
	char now[RFC3339_LEN];

	time_rfc3339(now, time(NULL));
	return duress_cancel_signed(json_pack("{s:s, s:s, s:s, s:i}",
	                                "alert_id", alert_id, "created_at", now,
	                                "device_id", d->cfg.device_id, "v",
	                                CANCEL_VERSION),
	    SIGCTX_CANCEL, d);
}
