/*
 * Delivering one sealed alert: attempts over the relays in turn, with
 * backoff between rounds, until a relay accepts it, a relay refuses it
 * for good, or the deadline passes.  Every attempt sends the same bytes.
 */
#ifndef ALERTCTL_DELIVERY_H
#define ALERTCTL_DELIVERY_H

#include <jansson.h>

#include "client_config.h"

#define DELIVERY_BACKOFF_MIN_MS 500
#define DELIVERY_BACKOFF_MAX_MS 5000

/* EXIT_OK once accepted, else EXIT_FAIL (the reason is logged). */
int delivery_run(const struct client_config *cfg, const unsigned char *sk,
    const char *alert_id, const json_t *frame, long timeout_s);

#endif
