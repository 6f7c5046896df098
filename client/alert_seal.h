/*
 * Sealing an alert for its recipients: the inner alert is signed by the
 * device (crypto_sign, combined), sealed to each recipient
 * (crypto_box_seal), and the envelope around the sealed boxes is signed
 * again for the relay (docs/PROTOCOL.md, "The alert frame").
 */
#ifndef ALERTCTL_ALERT_SEAL_H
#define ALERTCTL_ALERT_SEAL_H

#include <jansson.h>
#include <sodium.h>

#include "alert.h"
#include "client_config.h"

struct sealed_alert {
	char alert_id[33];
	char created_at[RFC3339_LEN];
	char *envelope; /* the exact JSON bytes the device signed */
	unsigned char sig[crypto_sign_BYTES];
};

int alert_seal(const struct alert *a, const struct client_config *cfg,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    struct sealed_alert *out, char *err, size_t errlen);
/* {"type":"alert","envelope":B64,"sig":B64}; the same bytes every time,
 * which is what lets the relay deduplicate a resend. */
json_t *alert_seal_frame(const struct sealed_alert *s);
void alert_seal_free(struct sealed_alert *s);

#endif
