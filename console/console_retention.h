/*
 * How long the console keeps what it stores (alertconsole.conf
 * [retention]), the sweep that removes what has passed its period in
 * small steps on the event loop, and the erasure of one device's data
 * (alertconsole forget).  The periods count from an alert's closure by
 * an operator: an open alert is never swept, however old.  The
 * timeline stays append-only for everything else: SQLite's triggers
 * (console_retention_db.c) refuse a deletion that no period and no
 * recorded erasure allows, and each sweep step and erasure is recorded
 * in the append-only table retention_log.
 */
#ifndef ALERTCONSOLE_CONSOLE_RETENTION_H
#define ALERTCONSOLE_CONSOLE_RETENTION_H

#include <sqlite3.h>

/* Seconds; 0: kept for ever. */
struct console_retention_cfg {
	long alert_content; /* a closed alert's webhooks, from its closure */
	long alert_history; /* its timeline and claim, from its closure */
	long device_state; /* a device's state and its notices, unheard of */
	long sessions; /* an operator's session, after session_idle */
	long sweep_interval; /* seconds between two sweeps */
};

/* console_retention_conf.c: the defaults, one key of [retention] (-1
 * when unknown or out of bounds) and the check of the whole. */
void console_retention_defaults(struct console_retention_cfg *r);
int console_retention_key(struct console_retention_cfg *r, const char *name,
    const char *value);
int console_retention_check(const struct console_retention_cfg *r);

/* The device notices (their alert_id is the notice's own id) that
 * device_state's period sweeps, and whether id carries nothing but
 * notices, in the webhooks and in the timeline (where a notice has
 * only its 'webhook' row): so that a notice made up with a closed
 * alert's id cannot take that alert's timeline early.  The sweep
 * (console_retention.c) and the triggers (console_retention_db.c)
 * share them. */
#define CONSOLE_RETENTION_NOTICE_TYPES                                         \
	"('device.offline', 'device.online', 'device.checkin_failed')"
#define CONSOLE_RETENTION_NOTICE_ONLY(id)                                      \
	"(NOT EXISTS (SELECT 1 FROM webhook a WHERE a.alert_id = " id          \
	" AND a.type NOT IN " CONSOLE_RETENTION_NOTICE_TYPES ") AND NOT"       \
	" EXISTS (SELECT 1 FROM timeline t WHERE t.alert_id = " id             \
	" AND t.kind <> 'webhook'))"

/* console_retention_db.c: the tables and triggers of retention and
 * erasure on a database of before them (user_version 4 to 5); -1
 * (logged) on an error. */
int console_retention_upgrade(sqlite3 *db);
/* user_version 6, within console_db_upgrade6's transaction: the delete
 * triggers again (a closure before a reopening no longer counts, a
 * device notice's rules) and the replace triggers; 0 or -1 (logged,
 * rolled back). */
int console_retention_upgrade6(sqlite3 *db);
/* One statement or more of an upgrade; -1 (logged, the transaction
 * rolled back) on an error.  console_db_upgrade6.c runs its own with it. */
int console_retention_exec(sqlite3 *db, const char *sql);

/* console_retention.c: the sweep, every sweep_interval seconds (the
 * first soon after start), on base; it reads c->db once that is open. */
struct console;
struct event_base;
struct console_retention;
struct console_retention *console_retention_new(struct console *c,
    struct event_base *base);
/* A webhook was stored for an alert closed already: the next sweep
 * looks at every closure's content again. */
void console_retention_rewind(struct console_retention *r);
void console_retention_free(struct console_retention *r);

/* console_forget.c: alertconsole forget DEVICE-ID --by NAME [--force];
 * the exit status. */
struct console_config;
int console_forget_cmd(struct console_config *cfg, int argc, char **argv);

#endif
