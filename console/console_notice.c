/*
 * The state an alert's relay notices give it on the page
 * (console_notice.h): each notice checked by notice_verify.c (shared
 * with `alertctl receive`) with the keys the console already holds.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ack_statement.h"
#include "console_db.h"
#include "console_notice.h"
#include "directory.h"
#include "frame.h"
#include "log.h"
#include "log_budget.h"
#include "notice_verify.h"
#include "out.h"
#include "xmalloc.h"

const char *
console_notice_relay_by(const json_t *body)
{
	return out_acked_by(json_str(body, "acknowledged_by"));
}

void
console_notice_check_by(const struct hook_body *b)
{
	static struct log_budget budget = {"malformed acknowledged_by", 0, 0,
	    0};

	if (strcmp(b->type, "alert.acknowledged") == 0 &&
	    json_object_get(b->o, "acknowledged_by") != NULL &&
	    strcmp(console_notice_relay_by(b->o), "?") == 0 &&
	    log_budget_take(&budget))
		log_warnx("webhook for alert %s: its acknowledged_by is not a "
		          "name as the relay writes them; shown as ?",
		    b->alert_id);
}

/* What each kind of notice of one alert amounts to. */
struct console_notice_sum {
	int cancel_device, cancel_relay;
	int duress_device, duress_relay;
	int ack_signed, ack_relay;
	char ack_name[ACK_STMT_TEXT_MAX + 1];
	char relay_by[OUT_ACKED_BY_MAX + 1];
};

/* One stored notice of the alert, added to sum. */
static void
console_notice_add(struct hook_config *hook, const struct alert *a,
    const json_t *alert_body, const char *type, const json_t *body,
    struct console_notice_sum *sum)
{
	enum notice_cancel k;

	if (strcmp(type, "alert.acknowledged") == 0) {
		if (notice_verify_ack(&hook->keys, body, a->alert_id,
		        json_str(alert_body, "envelope_sha256"), sum->ack_name,
		        sizeof(sum->ack_name)))
			sum->ack_signed = 1;
		else if (!sum->ack_relay++)
			snprintf(sum->relay_by, sizeof(sum->relay_by), "%s",
			    console_notice_relay_by(body));
		return;
	}
	k = notice_verify_cancel(&hook->keys, body, a->alert_id, a->device_id);
	/* a signed duress cancel says duress whatever event carries it */
	if (k == NOTICE_DURESS)
		sum->duress_device = 1;
	else if (strcmp(type, "alert.duress") == 0)
		sum->duress_relay = 1;
	else if (k == NOTICE_CANCEL)
		sum->cancel_device = 1;
	else
		sum->cancel_relay = 1;
}

/* Only the notices that came with the webhook secret of the alert's own
 * recipient (?2): another recipient's hook says nothing about it. */
static const char console_notice_rows_sql[] =
    "SELECT type, body FROM webhook WHERE alert_id = ?1 AND recipient_id = "
    "?2 AND type IN ('alert.acknowledged', 'alert.cancelled', "
    "'alert.duress') ORDER BY id";

static void
console_notice_sum(struct console *c, struct hook_config *hook,
    const struct alert *a, const json_t *alert_body,
    struct console_notice_sum *sum)
{
	sqlite3_stmt *s = console_db_stmt(c->db, console_notice_rows_sql);
	json_t *body;

	if (s == NULL)
		return;
	sqlite3_bind_text(s, 1, a->alert_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, hook->recipient_id, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		body = json_loadb(sqlite3_column_blob(s, 1),
		    (size_t)sqlite3_column_bytes(s, 1), 0, NULL);
		if (body != NULL && sqlite3_column_text(s, 0) != NULL)
			console_notice_add(hook, a, alert_body,
			    (const char *)sqlite3_column_text(s, 0), body, sum);
		json_decref(body);
	}
	console_db_release(s);
}

/* The first column of sql's first row for alert_id (?1) and, when not
 * NULL, rid (?2), copied and NUL-terminated with its length into len
 * (may be NULL), or NULL (the caller frees). */
static char *
console_notice_first(struct console *c, const char *sql, const char *alert_id,
    const char *rid, size_t *len)
{
	sqlite3_stmt *s = console_db_stmt(c->db, sql);
	char *out = NULL;
	size_t n;

	if (s == NULL)
		return NULL;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	if (rid != NULL)
		sqlite3_bind_text(s, 2, rid, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL) {
		n = (size_t)sqlite3_column_bytes(s, 0);
		out = xmalloc(n + 1);
		memcpy(out, sqlite3_column_blob(s, 0), n);
		out[n] = '\0';
		if (len != NULL)
			*len = n;
	}
	console_db_release(s);
	return out;
}

static const char console_notice_own_sql[] =
    "SELECT actor FROM timeline WHERE alert_id = ?1 AND kind = "
    "'acknowledged' ORDER BY at LIMIT 1";

/* The first acknowledgement an operator of this console made, or NULL
 * (the caller frees). */
static char *
console_notice_own_ack(struct console *c, const char *alert_id)
{
	return console_notice_first(c, console_notice_own_sql, alert_id, NULL,
	    NULL);
}

static json_t *
console_notice_word(int signed_, int relay, const char *signer)
{
	if (signed_)
		return json_string(signer);
	return relay ? json_string("relay") : json_null();
}

/* Only what a device or a recipient signed moves the state; a duress,
 * even the relay's word alone, keeps the alarm on: a needless "do not
 * call back" costs less than a missed one. */
static const char *
console_notice_state(const struct console_notice_sum *sum)
{
	if (sum->ack_signed)
		return "acknowledged";
	if (sum->cancel_device && !sum->duress_device && !sum->duress_relay)
		return "cancelled";
	return "open";
}

void
console_notice_apply(struct console *c, struct hook_config *hook,
    const struct alert *a, const json_t *alert_body, json_t *o)
{
	struct console_notice_sum sum;
	char *own;

	memset(&sum, 0, sizeof(sum));
	console_notice_sum(c, hook, a, alert_body, &sum);
	/* an operator's closure stands (console_api_work) */
	if (strcmp(json_str(o, "state") != NULL ? json_str(o, "state") : "",
	        "closed") != 0)
		json_object_set_new(o, "state",
		    json_string(console_notice_state(&sum)));
	json_object_set_new(o, "duress",
	    json_boolean(sum.duress_device || sum.duress_relay));
	json_object_set_new(o, "notices",
	    json_pack("{s:o, s:o, s:o}", "cancelled",
	        console_notice_word(sum.cancel_device, sum.cancel_relay,
	            "device"),
	        "acknowledged",
	        console_notice_word(sum.ack_signed, sum.ack_relay, "signed"),
	        "duress",
	        console_notice_word(sum.duress_device, sum.duress_relay,
	            "device")));
	json_object_set_new(o, "relay_acked_by",
	    sum.ack_relay && !sum.ack_signed ? json_string(sum.relay_by)
	                                     : json_null());
	/* "acknowledged by" is a fact only from this console or a
	 * signature */
	own = console_notice_own_ack(c, a->alert_id);
	json_object_set_new(o, "acked_by",
	    own != NULL          ? json_string(own)
	        : sum.ack_signed ? json_string(sum.ack_name)
	                         : json_null());
	free(own);
}

static const char console_notice_alert_sql[] = "SELECT " CONSOLE_DB_ALERT_BODY(
    "?1") " WHERE " CONSOLE_DB_ALERT_RCPT("?1") " = ?2";

/* The body of alert_id's first row when that row came for rid (a notice
 * through another recipient's hook is no word on it), or NULL (not, or
 * no longer, stored). */
static json_t *
console_notice_alert(struct console *c, const char *alert_id, const char *rid)
{
	size_t len = 0;
	char *raw = console_notice_first(c, console_notice_alert_sql, alert_id,
	    rid, &len);
	json_t *body = raw != NULL ? json_loadb(raw, len, 0, NULL) : NULL;

	free(raw);
	return body;
}

const char *
console_notice_kind(struct console *c, const char *type, const json_t *body,
    char *name, size_t namelen)
{
	const char *rid = json_str(body, "recipient_id"),
	           *aid = json_str(body, "alert_id");
	struct console_recipient *r =
	    rid != NULL ? console_config_find(&c->cfg, rid) : NULL;
	json_t *alert =
	    r != NULL && aid != NULL ? console_notice_alert(c, aid, rid) : NULL;
	int takes = json_is_object(alert) &&
	    console_notice_signed(&r->hook.keys, type, body, alert, name,
	        namelen);

	json_decref(alert);
	if (strcmp(type, "alert.acknowledged") == 0)
		return takes ? "acknowledged" : "acknowledged_relay";
	return takes ? "cancelled" : "cancelled_relay";
}
