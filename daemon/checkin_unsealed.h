/*
 * A missed check-in whose prepared alert nobody here can open: every
 * recipient it was sealed to left the directory while it ran, and the
 * device, by definition, is not there to seal it again.  The alert is
 * still stored (its SMS tiers and the open-alert count go on, as for any
 * alert), and every webhook recipient of its policy's tiers gets the
 * notice device.checkin_failed, which carries nothing sealed
 * (docs/PROTOCOL.md, "Check-in timers").  Once the alert is stored,
 * those recipients are marked unreached on it, as a recipient the relay
 * gave up on is, so that status, receipts and escalation say it.
 */
#ifndef ALERTRELAY_CHECKIN_UNSEALED_H
#define ALERTRELAY_CHECKIN_UNSEALED_H

#include <jansson.h>

struct relay;
struct envelope;

/* The argument of script_checkin_unsealed for check-in cid: the
 * notice's id (the same for every try of this check-in, so a retry
 * sends nothing twice), the device, the recipients to tell. */
json_t *checkin_unsealed_args(const struct relay *relay,
    const struct envelope *env, const char *cid);
/* The argument of script_unreached_all for the stored alert: the same
 * recipients, each with its alias and why it was not reached. */
json_t *checkin_unsealed_unreached(const struct relay *relay,
    const struct envelope *env);

#endif
