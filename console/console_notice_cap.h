/*
 * Which relay notices (alert.acknowledged, alert.cancelled,
 * alert.duress) and escalations (alert.escalated) are stored: a bound
 * on what whoever holds a webhook secret can make every queue load read
 * and check again.  Each stored notice of a listed alert is read, and
 * its signature checked, and each escalation's tier read, on every
 * /api/alerts and /api/alert/ID (console_notice.c, console_work.c), and
 * sends every open page an "alerts" event; a relay taken over, or
 * anyone replaying its webhooks with the secret, can send as many as it
 * likes.
 */
#ifndef ALERTCONSOLE_CONSOLE_NOTICE_CAP_H
#define ALERTCONSOLE_CONSOLE_NOTICE_CAP_H

#include "console.h"
#include "hook.h"

/* Notices of one alert, type and recipient that only the relay vouches
 * for (no signature of a known device or recipient for that alert) kept
 * at most: a real relay sends about one per recipient. */
#define CONSOLE_NOTICE_RELAY_MAX 8
/* Escalations of one alert and recipient kept at most, each tier once:
 * more than a policy has tiers, with an hour of repeats a minute apart
 * (a duress alarm's repeats are escalations too: past this bound the
 * alert still shows duress, and the highest tier stored). */
#define CONSOLE_NOTICE_TIERS_MAX 64

/* 1 when notice b (body req) is to be stored, 0 when it adds nothing
 * and is left out (answered as received: the relay does not send it
 * again).  Compared with b's recipient's notices of its type only.
 * Left out: the same body again; a signature already stored for the
 * alert (a signed notice replayed in another wrapping); an escalation
 * of a tier already stored; a notice only the relay vouches for once
 * CONSOLE_NOTICE_RELAY_MAX notices of its alert and type are stored, an
 * escalation once CONSOLE_NOTICE_TIERS_MAX are (each logged, within a
 * budget).  A notice that carries a signature a known device or
 * recipient made for its alert is never left out for the cap, so junk
 * sent first cannot push a genuine acknowledgement, cancel or duress
 * alarm out; nor is a duress alarm that reopens its closed alert (each
 * such needs an operator's closure first).  The first duress alarm of
 * an alert and recipient is always stored.  Other types: always 1. */
int console_notice_admit(struct console *c, const struct hook_request *req,
    const struct hook_body *b);

#endif
