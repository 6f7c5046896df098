/*
 * Live location while an alert is open (send --follow; docs/PROTOCOL.md,
 * "Revision 3"): after the relay accepted the alert, a later position
 * every interval, each the inner alert again with the new location and
 * the fix's time, sealed to the same recipients and signed by the
 * device, until the alert is closed (acknowledged, cancelled, expired)
 * or a bound is reached.  The position comes from gpsd or is fixed.
 *
 * A small API, for alertctl and a future client library alike: fill
 * follow_params (follow_params_init gives the configuration's values)
 * and call follow_run with the alert as it was sealed.
 */
#ifndef ALERTCTL_FOLLOW_H
#define ALERTCTL_FOLLOW_H

#include "alert.h"
#include "client_config.h"
#include "device.h"

#define FOLLOW_INTERVAL_DEFAULT 10 /* seconds: the relay's default too */
#define FOLLOW_INTERVAL_MIN 1
#define FOLLOW_MAX_UPDATES_DEFAULT 360 /* an hour at 10 s */
#define FOLLOW_MAX_TIME_DEFAULT 3600 /* seconds */

enum follow_end {
	FOLLOW_CLOSED, /* the alert was acknowledged, cancelled or expired */
	FOLLOW_BOUND, /* the count or time bound was reached */
	FOLLOW_UNSUPPORTED, /* the relay does not take location updates */
	FOLLOW_NO_SOURCE, /* gpsd cannot be reached or went away */
	FOLLOW_FAILED, /* refused, or no relay reached */
};

struct follow_params {
	long interval_s; /* seconds, at least FOLLOW_INTERVAL_MIN */
	long max_updates;
	long max_time_s;
	int fixed; /* a fixed position instead of gpsd */
	double lat, lon;
	int has_accuracy;
	double accuracy_m;
	const char *gpsd; /* host:port */
	/* --accept-relay-ack: the relay's word on an acknowledgement
	 * ends it too (ack_verify_closes) */
	int accept_relay;
};

/* From the configuration ([client] follow_*, gpsd), else the defaults. */
void follow_params_init(struct follow_params *p,
    const struct client_config *cfg);
/* Follows the accepted alert a (as sealed: same id, type, drill,
 * message) until it ends; says why on stdout/stderr.  The alert itself
 * is never affected by how this ends. */
enum follow_end follow_run(struct device *d, const struct alert *a,
    const struct follow_params *p);

#endif
