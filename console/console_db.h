/*
 * The console's state in SQLite (WAL, synchronous=FULL), in the state
 * directory: every accepted webhook body as received (sealed alerts stay
 * sealed at rest), one row each, committed before the webhook is
 * answered 2xx.
 *
 * The calls are synchronous on the event loop, on purpose: a local file,
 * one short transaction per webhook or page request, and the 2xx must
 * wait for the commit anyway.  Nothing else in the console blocks.
 */
#ifndef ALERTCONSOLE_CONSOLE_DB_H
#define ALERTCONSOLE_CONSOLE_DB_H

#include <stddef.h>

#include "hook.h"

#define CONSOLE_DB_FILE "console.db"
#define CONSOLE_DB_LIST_MAX 500 /* alerts in one answer */
#define CONSOLE_DB_CLOSED_SHOWN 50 /* newest closed alerts in the queue */

struct console_db;

/* dir/console.db, created when absent; NULL (logged) on failure. */
struct console_db *console_db_open(const char *dir);
void console_db_close(struct console_db *db);
/* How long a statement waits for another connection's transaction. */
#define CONSOLE_DB_BUSY_MS 1000
/* After an erasure: every frame of the WAL copied into console.db and
 * the WAL cut to zero bytes (a truncating checkpoint), so that deleted
 * notes do not stay in console.db-wal.  Waits at most wait_ms for
 * another connection's readers and writer (0 on the event loop), the
 * handle's busy timeout back to CONSOLE_DB_BUSY_MS after.  1 done, 0
 * busy (a reader of an older snapshot, a backup: try again later; the
 * WAL keeps its frames meanwhile), -1 error (logged). */
int console_db_truncate(struct console_db *db, int wait_ms);
/* The handle, for the other tables' files (console_users.c,
 * console_work.c); owned by db. */
struct sqlite3;
struct sqlite3 *console_db_sqlite(struct console_db *db);
/* From here on no statement on db may change the schema (no CREATE,
 * DROP, ALTER, ATTACH, writable_schema or other pragma but the few the
 * console reads): called by the console once its start has set the
 * schema up (console_db_lock.c says why).  0, or -1 logged. */
int console_db_lock(struct console_db *db);

/* sql prepared once on db and kept until console_db_close (sql must
 * be a string that lives as long, a literal), reset and without
 * bindings; NULL (logged) on an error.  The caller steps it and hands
 * it back with console_db_release, never sqlite3_finalize.  A statement
 * is not stepped again while in use (no nesting of the same SQL). */
struct sqlite3_stmt;
struct sqlite3_stmt *console_db_stmt(struct console_db *db, const char *sql);
/* Done with a statement of console_db_stmt: reset (its read ends),
 * bindings cleared. */
void console_db_release(struct sqlite3_stmt *s);

/* Stores one verified webhook (alert: a != NULL); 0 once committed. */
int console_db_store(struct console_db *db, const struct hook_request *req,
    const struct hook_body *b, const struct hook_verdict *v);

/* What a restart must remember: every stored webhook id and shown key. */
int console_db_replay(struct console_db *db, struct seen *seen,
    struct shown *shown);

/* One alert for the queue: its first stored delivery, and what the
 * relay's notices say about it since. */
struct console_db_alert {
	char *alert_id; /* unused: the body names it */
	char *recipient_id, *body; /* body as received */
	size_t bodylen;
	long long stored_at; /* unix seconds */
	int stale; /* older than max_age when it arrived */
	int acknowledged, cancelled;
	int duress; /* the device cancelled it under duress: still on */
	int open; /* not closed (set in the queue's rows only) */
	int waiting; /* CONSOLE_DB_WAITING (set in the queue's rows only) */
};

/* The columns of a console_db_alert, first in a query on "webhook w"
 * (the alert's first row; each EXISTS through the webhook_alert index,
 * counting only the notices that came for w's recipient: another
 * recipient's webhook secret vouches for nothing about this alert),
 * and their reader. */
#define CONSOLE_DB_ALERT_COLUMNS                                               \
	"SELECT w.recipient_id, w.body, w.stored_at, w.stale,"                 \
	" EXISTS (SELECT 1 FROM webhook n WHERE n.alert_id = w.alert_id"       \
	"  AND n.type = 'alert.acknowledged'"                                  \
	"  AND n.recipient_id = w.recipient_id),"                              \
	" EXISTS (SELECT 1 FROM webhook n WHERE n.alert_id = w.alert_id"       \
	"  AND n.type = 'alert.cancelled'"                                     \
	"  AND n.recipient_id = w.recipient_id),"                              \
	" EXISTS (SELECT 1 FROM webhook n WHERE n.alert_id = w.alert_id"       \
	"  AND n.type = 'alert.duress' AND n.recipient_id = w.recipient_id)"
struct sqlite3_stmt;
void console_db_alert_row(struct sqlite3_stmt *s, struct console_db_alert *a);

/* The id of alert a's newest reopening (a duress alarm after its
 * closure, console_db.c), 0 when none: what was done before it (a
 * closure, an acknowledgement) no longer counts. */
#define CONSOLE_DB_REOPENED(a)                                                 \
	"(SELECT COALESCE(MAX(r.id), 0) FROM timeline r WHERE r.alert_id = " a \
	" AND +r.kind = 'reopened')"

/* clang-format breaks the SQL's concatenation mid-word: */
/* clang-format off */
/* The body of alert a's first row, which a notice is checked against
 * (notice_signed: an acknowledgement must name its envelope, a cancel
 * its device), through webhook_alert (the "+" keeps the planner off the
 * partial index of every delivery). */
#define CONSOLE_DB_ALERT_BODY(a)                                               \
	"(SELECT f.body FROM webhook f WHERE f.alert_id = " a " AND"           \
	" +f.is_alert = 1 ORDER BY f.id LIMIT 1)"
/* The recipient of alert a's first row: a notice counts for the alert
 * only when it came with that recipient's webhook secret (a console
 * serving more recipients must not let one's hook speak for another's
 * alerts). */
#define CONSOLE_DB_ALERT_RCPT(a)                                               \
	"(SELECT f.recipient_id FROM webhook f WHERE f.alert_id = " a " AND"   \
	" +f.is_alert = 1 ORDER BY f.id LIMIT 1)"
/* The times of alert a's acknowledgements that count, for its time to
 * ack on the page and in the metrics alike: this console's operators'
 * (the timeline) and those a recipient signed for its envelope
 * (notice_signed); never one only the relay vouches for.  Through
 * timeline_alert and webhook_alert. */
#define CONSOLE_DB_ACK_TIMES(a)                                                \
	"SELECT at AS t FROM timeline WHERE alert_id = " a " AND"              \
	" +kind = 'acknowledged' UNION ALL SELECT stored_at FROM webhook"      \
	" WHERE alert_id = " a " AND +type = 'alert.acknowledged' AND"         \
	" recipient_id = " CONSOLE_DB_ALERT_RCPT(a) " AND"                     \
	" notice_signed(id, recipient_id, type, body,"                         \
	" " CONSOLE_DB_ALERT_BODY(a) ")"

/* The recipient of the open alert o's first row (o a row of
 * open_alert), whose hook alone speaks for the alert. */
#define CONSOLE_DB_FIRST_RCPT(o)                                               \
	"(SELECT f.recipient_id FROM webhook f WHERE f.id = " o ".first_id)"
/* Whether the open alert o waits for a person: neither claimed,
 * acknowledged nor cancelled, nor closed, as the page has it
 * (console_notice.c): only a signed acknowledgement or a cancel its own
 * device signed, through its own recipient's hook, counts
 * (notice_signed, registered by console_notice_sql), and no cancel of a
 * duress alarm nor an acknowledgement older than one (the relay reopens
 * an acknowledged alert for a duress cancel); no closure or
 * acknowledgement here before its last reopening.  Each part goes
 * through an index of one alert (claim's key, webhook_alert,
 * timeline_alert).  The metrics' gauge and the queue's bound share
 * it. */
#define CONSOLE_DB_WAITING(o)                                                  \
	"(NOT EXISTS (SELECT 1 FROM claim c WHERE c.alert_id = " o             \
	".alert_id) AND NOT EXISTS (SELECT 1 FROM webhook n WHERE"             \
	" n.alert_id = " o ".alert_id AND n.type IN ('alert.acknowledged',"    \
	" 'alert.cancelled') AND n.recipient_id = "                            \
	CONSOLE_DB_FIRST_RCPT(o) " AND notice_signed(n.id, n.recipient_id,"    \
	" n.type, n.body, (SELECT"                                             \
	" f.body FROM webhook f WHERE f.id = " o ".first_id)) AND NOT EXISTS"  \
	" (SELECT 1 FROM webhook d WHERE d.alert_id = " o ".alert_id AND"      \
	" +d.type = 'alert.duress' AND d.recipient_id = n.recipient_id AND"    \
	" (n.type = 'alert.cancelled' OR d.id > n.id)))"                       \
	" AND NOT EXISTS (SELECT 1 FROM timeline t WHERE t.alert_id = " o      \
	".alert_id AND +t.kind IN ('closed', 'acknowledged') AND t.id "        \
	"> " CONSOLE_DB_REOPENED(o ".alert_id") "))"
/* clang-format on */

/* Calls fn for each alert (first delivery per alert id): the open ones
 * (every duress alarm; then those waiting for a person,
 * CONSOLE_DB_WAITING, the longest waiting first; then the other open
 * ones, oldest first), then the CONSOLE_DB_CLOSED_SHOWN newest closed
 * ones (newest first), at most CONSOLE_DB_LIST_MAX in all; or only
 * alert_id's when not NULL.  -1 on a database error. */
int console_db_alerts(struct console_db *db, const char *alert_id,
    void (*fn)(void *arg, const struct console_db_alert *a), void *arg);
/* How many alerts are open (not closed) now; -1 on an error. */
long long console_db_open_count(struct console_db *db);

#endif
