/*
 * Claims and the timeline (console_work.h).  The timeline table has
 * triggers that refuse UPDATE and DELETE (console_db.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "ack_statement.h"
#include "console.h"
#include "console_db.h"
#include "console_metrics.h"
#include "console_notice.h"
#include "console_work.h"
#include "frame.h"
#include "log.h"

const char *const console_work_outcomes[] = {"handled", "false_alarm", "test",
    "police", NULL};

/* Each query here is prepared once (console_db_stmt); sql is a
 * literal. */
static sqlite3_stmt *
console_work_prepare(struct console *c, const char *sql)
{
	return console_db_stmt(c->db, sql);
}

/* The first column of sql's first row for alert_id, as text into out
 * ("" when none): 1 found, 0 not, -1 error. */
static int
console_work_text(struct console *c, const char *sql, const char *alert_id,
    char *out, size_t len)
{
	sqlite3_stmt *s = console_work_prepare(c, sql);
	int rc;

	out[0] = '\0';
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		snprintf(out, len, "%s", sqlite3_column_text(s, 0));
	console_db_release(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("database: %s", sqlite3_errstr(rc));
		return -1;
	}
	return rc == SQLITE_ROW;
}

int
console_work_recipient(struct console *c, const char *alert_id, char *out,
    size_t len)
{
	return console_work_text(c,
	           "SELECT recipient_id FROM webhook WHERE alert_id = ? AND "
	           "is_alert = 1 ORDER BY id LIMIT 1",
	           alert_id, out, len) == 1
	    ? 0
	    : -1;
}

int
console_work_known(struct console *c, const char *alert_id)
{
	char rid[128];

	return console_work_recipient(c, alert_id, rid, sizeof(rid)) == 0;
}

int
console_work_note_action(struct console *c, const char *alert_id,
    const char *kind, const char *actor, const char *detail)
{
	sqlite3_stmt *s = console_work_prepare(c,
	    "INSERT INTO timeline (alert_id, at, kind, actor, detail) "
	    "VALUES (?,?,?,?,?)");
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	console_db_release(s);
	if (rc != SQLITE_DONE) {
		log_warnx("database: timeline: %s",
		    sqlite3_errmsg(console_db_sqlite(c->db)));
		return -1;
	}
	return 0;
}

int
console_work_owner(struct console *c, const char *alert_id,
    char owner[CONSOLE_NAME_MAX + 1])
{
	return console_work_text(c, "SELECT name FROM claim WHERE alert_id = ?",
	    alert_id, owner, CONSOLE_NAME_MAX + 1);
}

int
console_work_closed(struct console *c, const char *alert_id, char *outcome,
    size_t len)
{
	sqlite3_stmt *s = console_work_prepare(c,
	    "SELECT detail FROM timeline WHERE alert_id = ?1 AND +kind = "
	    "'closed' AND id > " CONSOLE_DB_REOPENED("?1") " ORDER BY id "
	                                                   "DESC LIMIT 1");
	int rc;

	if (outcome != NULL)
		outcome[0] = '\0';
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW && outcome != NULL)
		snprintf(outcome, len, "%.*s",
		    (int)strcspn((const char *)sqlite3_column_text(s, 0), ":"),
		    sqlite3_column_text(s, 0));
	console_db_release(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("database: closure of %s: %s", alert_id,
		    sqlite3_errstr(rc));
		return -1;
	}
	return rc == SQLITE_ROW;
}

static long long
console_work_first(struct console *c, const char *sql, const char *alert_id)
{
	sqlite3_stmt *s = console_work_prepare(c, sql);
	long long at = 0;

	if (s == NULL)
		return 0;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		at = sqlite3_column_int64(s, 0);
	console_db_release(s);
	return at;
}

int
console_work_state(struct console *c, const char *alert_id,
    struct console_work_state *st)
{
	memset(st, 0, sizeof(*st));
	(void)console_work_owner(c, alert_id, st->owner);
	/* an error shows it open: the operator still sees the alert */
	st->closed = console_work_closed(c, alert_id, st->outcome,
	                 sizeof(st->outcome)) == 1;
	st->received_at = console_work_first(c,
	    "SELECT MIN(stored_at) FROM webhook WHERE alert_id = ? "
	    "AND is_alert = 1",
	    alert_id);
	st->claimed_at = console_work_first(c,
	    "SELECT MIN(at) FROM timeline WHERE alert_id = ? AND "
	    "kind = 'claimed'",
	    alert_id);
	/* How far the relay's escalation went: the highest tier of the
	 * webhooks that brought it (alert.raised is tier 0); a duress
	 * alarm without content only through the alert's own hook. */
	st->tier = console_work_first(c,
	    "SELECT MAX(CAST(json_extract(CAST(body AS TEXT), '$.tier') AS "
	    "INTEGER)) FROM webhook WHERE alert_id = ?1 AND (type IN "
	    "('alert.raised', 'alert.escalated') OR (type = 'alert.duress' "
	    "AND recipient_id = " CONSOLE_DB_ALERT_RCPT("?1") "))",
	    alert_id);
	/* The first acknowledgement that counts, as the metrics' time to
	 * ack has it: this console's, or one a recipient signed; the
	 * relay's word alone is none (docs/SECURITY.md). */
	st->acked_at = console_work_first(c,
	    "SELECT MIN(t) FROM (" CONSOLE_DB_ACK_TIMES("?1") ")", alert_id);
	return 0;
}

/* An alert.acknowledged body's timeline kind (console_notice_kind), its
 * actor into *actor: a signed one is credited to whom the statement
 * names (signer, len bytes), never to the relay's unsigned
 * acknowledged_by; that is only the relay's word ("acknowledged_relay"),
 * shown as console_notice_relay_by has it. */
static const char *
console_work_ack(struct console *c, const json_t *body, char *signer,
    size_t len, const char **actor)
{
	const char *kind =
	    console_notice_kind(c, "alert.acknowledged", body, signer, len);

	if (strcmp(kind, "acknowledged") == 0)
		*actor = signer;
	else
		*actor = console_notice_relay_by(body);
	return kind;
}

/* A relay webhook as a timeline entry: columns 4.. are its type,
 * repeat and body. */
static json_t *
console_work_webhook_entry(struct console *c, sqlite3_stmt *s)
{
	const char *type = (const char *)sqlite3_column_text(s, 4);
	json_t *body = json_loadb(sqlite3_column_blob(s, 6),
	    (size_t)sqlite3_column_bytes(s, 6), 0, NULL);
	const char *kind = "relay", *actor = "relay";
	char detail[160] = "", signer[ACK_STMT_TEXT_MAX + 1];
	json_t *e;

	if (type == NULL)
		type = "";
	if (strcmp(type, "alert.raised") == 0 ||
	    strcmp(type, "alert.escalated") == 0) {
		kind = sqlite3_column_int(s, 5) ? "received_again" : "received";
		snprintf(detail, sizeof(detail), "tier %lld",
		    (long long)json_integer_value(
		        json_object_get(body, "tier")));
	} else if (strcmp(type, "alert.acknowledged") == 0) {
		kind =
		    console_work_ack(c, body, signer, sizeof(signer), &actor);
		if (strcmp(kind, "acknowledged") == 0)
			snprintf(detail, sizeof(detail), "relay");
	} else if (strcmp(type, "alert.cancelled") == 0) {
		kind = console_notice_kind(c, type, body, NULL, 0);
		actor = strcmp(kind, "cancelled") == 0 ? "device" : "relay";
	}
	e = json_pack("{s:I, s:s, s:s, s:s}", "at",
	    (json_int_t)sqlite3_column_int64(s, 0), "kind", kind, "actor",
	    actor, "detail", detail);
	json_decref(body);
	return e;
}

/* In the order things happened: each webhook has its timeline row
 * (kind "webhook", written in the webhook's own transaction).  A notice
 * that came through another recipient's hook is not this alert's (that
 * webhook secret vouches for nothing about it) and is left out; the
 * alert's deliveries and positions, which its device signed, are not. */
json_t *
console_work_timeline(struct console *c, const char *alert_id)
{
	sqlite3_stmt *s = console_work_prepare(c,
	    "SELECT t.at, t.kind, t.actor, t.detail, w.type, w.repeat, w.body "
	    "FROM timeline t LEFT JOIN webhook w ON t.kind = 'webhook' AND "
	    "w.id = CAST(t.detail AS INTEGER) WHERE t.alert_id = ?1 AND "
	    "(w.id IS NULL OR w.type IN ('alert.raised', 'alert.escalated', "
	    "'alert.location') OR w.recipient_id = " CONSOLE_DB_ALERT_RCPT(
	        "?1") ") ORDER BY t.id");
	json_t *out = json_array(), *e;

	if (s == NULL)
		return out;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(s, 1),
		        "webhook") == 0)
			e = console_work_webhook_entry(c, s);
		else
			e = json_pack("{s:I, s:s, s:s, s:s}", "at",
			    (json_int_t)sqlite3_column_int64(s, 0), "kind",
			    sqlite3_column_text(s, 1), "actor",
			    sqlite3_column_text(s, 2), "detail",
			    sqlite3_column_text(s, 3));
		if (e != NULL)
			json_array_append_new(out, e);
	}
	console_db_release(s);
	return out;
}

/* Through webhook_stored (console_db.c), or the rows after the last
 * page by id: the deliveries of the period, each kept when it is its
 * alert's first. */
int
console_work_period(struct console *c, long long from, long long to,
    long long after, struct console_work_first *out, int n)
{
	sqlite3_stmt *s = console_work_prepare(c,
	    "SELECT w.id, w.alert_id FROM webhook w WHERE w.is_alert = 1 AND "
	    "w.stored_at >= ?1 AND w.stored_at < ?2 AND w.id > ?3 AND "
	    "w.id = (SELECT MIN(f.id) FROM webhook f WHERE f.alert_id = "
	    "w.alert_id AND f.is_alert = 1) ORDER BY w.id LIMIT ?4");
	int k = 0, rc = SQLITE_DONE;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	sqlite3_bind_int64(s, 3, after);
	sqlite3_bind_int(s, 4, n);
	while (k < n && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		out[k].id = sqlite3_column_int64(s, 0);
		snprintf(out[k].alert_id, sizeof(out[k].alert_id), "%s",
		    (const char *)sqlite3_column_text(s, 1));
		k++;
	}
	if (k < n && rc != SQLITE_DONE)
		k = -1;
	console_db_release(s);
	return k;
}
