/*
 * The cancel frames, v1 and v2 behind a PIN with the duress flag signed
 * inside (duress_cancel.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "duress_cancel.h"
#include "envelope.h"
#include "frame.h"
#include "log.h"
#include "util.h"

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

/* {"type":"cancel","cancel":B64(CANCEL_JSON),"sig":B64} where
 * CANCEL_JSON is {"alert_id","created_at","device_id","duress":0|1,
 * "v":2}: the flag is one digit, so that a duress cancel and a real one
 * are the same number of bytes on the wire. */
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
