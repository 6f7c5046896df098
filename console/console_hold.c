/*
 * The rules of holding an alert (console_hold.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "console.h"
#include "console_db.h"
#include "console_hold.h"
#include "console_metrics.h"
#include "console_work.h"

static int
console_hold_supervisor(const struct console_user *u)
{
	return strcmp(u->role, "supervisor") == 0;
}

/* One statement of the rule's transaction, alert_id and name bound. */
static int
console_hold_exec(struct console *c, const char *sql, const char *alert_id,
    const char *name)
{
	sqlite3_stmt *s = console_db_stmt(c->db, sql);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	if (name != NULL) {
		sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
	}
	rc = sqlite3_step(s);
	console_db_release(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Opens the transaction and checks the rule: the alert open, and u its
 * holder (or a supervisor) when held is set. */
static enum console_hold
console_hold_begin(struct console *c, const char *alert_id,
    const struct console_user *u, int held, char owner[CONSOLE_NAME_MAX + 1])
{
	sqlite3 *db = console_db_sqlite(c->db);
	int closed;

	owner[0] = '\0';
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return CONSOLE_HOLD_ERROR;
	if (console_work_owner(c, alert_id, owner) < 0 ||
	    (closed = console_work_closed(c, alert_id, NULL, 0)) < 0)
		return CONSOLE_HOLD_ERROR;
	if (closed)
		return CONSOLE_HOLD_CLOSED;
	if (held && strcmp(owner, u->name) != 0 && !console_hold_supervisor(u))
		return CONSOLE_HOLD_NOT_HOLDER;
	return CONSOLE_HOLD_OK;
}

/* Commits when the rule held and every row went in, else rolls back. */
static enum console_hold
console_hold_end(struct console *c, enum console_hold r, int rows_ok)
{
	sqlite3 *db = console_db_sqlite(c->db);

	if (r == CONSOLE_HOLD_OK && rows_ok &&
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return CONSOLE_HOLD_OK;
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r == CONSOLE_HOLD_OK ? CONSOLE_HOLD_ERROR : r;
}

/* Nobody holds it: u's now, with its timeline row; the first claim is
 * the end of the time to claim. */
static int
console_hold_take(struct console *c, const char *alert_id,
    const struct console_user *u, const char *kind, const char *from)
{
	return console_hold_exec(c,
	           "INSERT INTO claim (alert_id, name, at) VALUES (?,?,?)",
	           alert_id, u->name) == 0 &&
	    console_work_note_action(c, alert_id, kind, u->name, from) == 0;
}

enum console_hold
console_hold_claim(struct console *c, const char *alert_id,
    const struct console_user *u, char owner[CONSOLE_NAME_MAX + 1])
{
	enum console_hold r = console_hold_begin(c, alert_id, u, 0, owner);
	int ok = 0, claimed = 0;

	if (r == CONSOLE_HOLD_OK && owner[0] != '\0')
		r = strcmp(owner, u->name) == 0 ? CONSOLE_HOLD_OK
		                                : CONSOLE_HOLD_HELD;
	if (r == CONSOLE_HOLD_OK && owner[0] == '\0')
		ok = claimed = console_hold_take(c, alert_id, u, "claimed", "");
	else
		ok = r == CONSOLE_HOLD_OK; /* the caller's already */
	r = console_hold_end(c, r, ok);
	if (r == CONSOLE_HOLD_OK && claimed)
		console_metrics_note(c, alert_id, CONSOLE_METRICS_CLAIMED);
	if (r == CONSOLE_HOLD_OK)
		snprintf(owner, CONSOLE_NAME_MAX + 1, "%s", u->name);
	return r;
}

enum console_hold
console_hold_release(struct console *c, const char *alert_id,
    const struct console_user *u, char owner[CONSOLE_NAME_MAX + 1])
{
	enum console_hold r = console_hold_begin(c, alert_id, u, 1, owner);
	int ok = 0;

	if (r == CONSOLE_HOLD_OK && owner[0] == '\0')
		r = CONSOLE_HOLD_NOT_HOLDER;
	if (r == CONSOLE_HOLD_OK)
		ok =
		    console_hold_exec(c, "DELETE FROM claim WHERE alert_id = ?",
		        alert_id, NULL) == 0 &&
		    console_work_note_action(c, alert_id, "released", u->name,
		        strcmp(owner, u->name) == 0 ? "" : owner) == 0;
	return console_hold_end(c, r, ok);
}

enum console_hold
console_hold_takeover(struct console *c, const char *alert_id,
    const struct console_user *u, char owner[CONSOLE_NAME_MAX + 1])
{
	enum console_hold r;
	int ok = 0, claimed = 0;

	if (!console_hold_supervisor(u))
		return CONSOLE_HOLD_SUPERVISOR;
	r = console_hold_begin(c, alert_id, u, 0, owner);
	/* theirs already: nothing to take, and no "taken over from
	 * themselves" on the record */
	if (r == CONSOLE_HOLD_OK && strcmp(owner, u->name) == 0)
		r = CONSOLE_HOLD_YOURS;
	else if (r == CONSOLE_HOLD_OK) {
		claimed = owner[0] == '\0';
		ok =
		    console_hold_exec(c, "DELETE FROM claim WHERE alert_id = ?",
		        alert_id, NULL) == 0 &&
		    console_hold_take(c, alert_id, u,
		        claimed ? "claimed" : "taken_over", owner);
	}
	r = console_hold_end(c, r, ok);
	/* Taking an alert nobody held is its claim (time to claim). */
	if (r == CONSOLE_HOLD_OK && claimed)
		console_metrics_note(c, alert_id, CONSOLE_METRICS_CLAIMED);
	return r;
}

enum console_hold
console_hold_close(struct console *c, const char *alert_id,
    const struct console_user *u, const char *detail,
    char owner[CONSOLE_NAME_MAX + 1])
{
	enum console_hold r = console_hold_begin(c, alert_id, u, 1, owner);
	int ok = 0;

	/* The queue's table of open alerts loses it in the same breath, by
	 * the closure row's trigger (console_db.c). */
	if (r == CONSOLE_HOLD_OK)
		ok = console_work_note_action(c, alert_id, "closed", u->name,
		         detail) == 0;
	return console_hold_end(c, r, ok);
}

enum console_hold
console_hold_note(struct console *c, const char *alert_id,
    const struct console_user *u, const char *text)
{
	char owner[CONSOLE_NAME_MAX + 1];
	enum console_hold r = console_hold_begin(c, alert_id, u, 0, owner);
	int ok = 0;

	if (r == CONSOLE_HOLD_CLOSED && console_hold_supervisor(u))
		r = CONSOLE_HOLD_OK; /* a correction on the record */
	if (r == CONSOLE_HOLD_OK)
		ok = console_work_note_action(c, alert_id, "note", u->name,
		         text) == 0;
	return console_hold_end(c, r, ok);
}
