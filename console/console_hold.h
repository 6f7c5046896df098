/*
 * Who may do what to an alert once someone holds it: the rules of
 * release, take-over and closure, each checked and written in one
 * transaction so the answer and the row cannot disagree.
 *
 *	claim     anyone, when nobody holds it (the first claim wins: the
 *	          claim's key); the holder again changes nothing; not once
 *	          closed
 *	release   the holder, or a supervisor; not once closed
 *	takeover  a supervisor: the claim becomes theirs, the timeline
 *	          names whom it was taken from; not their own (409); not
 *	          once closed
 *	close     the holder, or a supervisor; once only
 *	note      anyone on an open alert (a colleague who takes a call
 *	          back adds what they heard); once closed, a supervisor's
 *	          correction only
 */
#ifndef ALERTCONSOLE_CONSOLE_HOLD_H
#define ALERTCONSOLE_CONSOLE_HOLD_H

#include "console_users.h"

struct console;

enum console_hold {
	CONSOLE_HOLD_OK,
	CONSOLE_HOLD_CLOSED, /* closed already: nothing more to do */
	CONSOLE_HOLD_NOT_HOLDER, /* someone else's, or nobody's: owner says */
	CONSOLE_HOLD_SUPERVISOR, /* a supervisor's action */
	CONSOLE_HOLD_HELD, /* a claim: someone else's, owner says whose */
	CONSOLE_HOLD_YOURS, /* a take-over of what the caller holds */
	CONSOLE_HOLD_ERROR, /* the database failed: 500, logged */
};

/* owner receives the holder ("" nobody) in each of these. */
enum console_hold console_hold_claim(struct console *c, const char *alert_id,
    const struct console_user *u, char owner[CONSOLE_NAME_MAX + 1]);
enum console_hold console_hold_release(struct console *c, const char *alert_id,
    const struct console_user *u, char owner[CONSOLE_NAME_MAX + 1]);
enum console_hold console_hold_takeover(struct console *c, const char *alert_id,
    const struct console_user *u, char owner[CONSOLE_NAME_MAX + 1]);
/* detail is "outcome" or "outcome: note". */
enum console_hold console_hold_close(struct console *c, const char *alert_id,
    const struct console_user *u, const char *detail,
    char owner[CONSOLE_NAME_MAX + 1]);
enum console_hold console_hold_note(struct console *c, const char *alert_id,
    const struct console_user *u, const char *text);

#endif
