/*
 * send's last word to the person holding the device when it gives up:
 * one line on stderr, plain words first (call 112), the technical
 * reason after them in brackets.  The texts are in msg.h.
 */
#ifndef ALERTCTL_VERDICT_H
#define ALERTCTL_VERDICT_H

#include "client_config.h"

/* The relay does not have the alert.  EXIT_FAIL. */
int verdict_not_delivered(const char *why);
/* The relays refuse this device (revoked, or not in the directory);
 * the contact from cfg, else "your administrator".  EXIT_REVOKED. */
int verdict_revoked(const struct client_config *cfg, const char *why);
/* The same with the contact itself (NULL: "your administrator"). */
int verdict_revoked_contact(const char *contact, const char *why);
/* The relay has the alert; nobody was seen to get it.
 * EXIT_UNCONFIRMED. */
int verdict_unconfirmed(const char *why);
/* send --drill: the verdicts speak of the drill, not of an alarm (no
 * one is told to call 112 for a rehearsal). */
void verdict_set_drill(int drill);

#endif
