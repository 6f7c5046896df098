/*
 * The operators' work on alerts, in the console's database: who holds
 * an alert (the claim's row; the rules are console_hold.h's), and the
 * append-only timeline of what people did (claims, releases, notes,
 * acknowledgements, closures, exports, logins).  An alert's timeline
 * as shown merges these rows with the relay's webhooks (received,
 * escalated, acknowledged elsewhere, cancelled by the device).
 */
#ifndef ALERTCONSOLE_CONSOLE_WORK_H
#define ALERTCONSOLE_CONSOLE_WORK_H

#include <jansson.h>

#include "console_users.h"

#define CONSOLE_NOTE_MAX 2000 /* bytes of a note */

struct console;

/* What the queue shows of an alert besides the relay's word. */
struct console_work_state {
	char owner[CONSOLE_NAME_MAX + 1]; /* "" : nobody */
	long long received_at, claimed_at; /* 0: not (yet) */
	/* the first acknowledgement here or signed by a recipient; 0: none
	 * (one only the relay vouches for does not count) */
	long long acked_at;
	long long tier; /* the furthest escalation tier it reached, from 0 */
	int closed;
	char outcome[24];
};

extern const char *const console_work_outcomes[]; /* NULL-terminated */

int console_work_known(struct console *c, const char *alert_id);
/* The recipient an alert came for (its first delivery); 0 found. */
int console_work_recipient(struct console *c, const char *alert_id, char *out,
    size_t len);
/* Who holds alert_id into owner ("" nobody): 1 held, 0 not, -1 error. */
int console_work_owner(struct console *c, const char *alert_id,
    char owner[CONSOLE_NAME_MAX + 1]);
/* 1 when alert_id is closed, its outcome into outcome (may be NULL);
 * 0 when not, -1 (logged) on a database error. */
int console_work_closed(struct console *c, const char *alert_id, char *outcome,
    size_t len);
/* Appends one timeline row: 0 once committed. */
int console_work_note_action(struct console *c, const char *alert_id,
    const char *kind, const char *actor, const char *detail);
int console_work_state(struct console *c, const char *alert_id,
    struct console_work_state *st);
/* The merged timeline, oldest first: [{"at","kind","actor","detail"}]. */
json_t *console_work_timeline(struct console *c, const char *alert_id);
/* One alert of a period: its first delivery's row id, and its id. */
struct console_work_first {
	long long id;
	char alert_id[33];
};

/* The alerts first received in [from, to) whose first delivery comes
 * after row id after, oldest first, at most n into out: how many, or
 * -1 on a database error.  An export pages through a period with it. */
int console_work_period(struct console *c, long long from, long long to,
    long long after, struct console_work_first *out, int n);

#endif
