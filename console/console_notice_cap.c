/*
 * Which relay notices are stored (console_notice_cap.h): each incoming
 * alert.acknowledged, alert.cancelled, alert.duress or alert.escalated
 * checked once, on arrival, against the few already stored for its
 * alert, so that the rows a queue load reads and checks stay bounded
 * whatever a relay sends.
 */
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ack_statement.h"
#include "console_db.h"
#include "console_notice_cap.h"
#include "console_work.h"
#include "frame.h"
#include "log.h"
#include "log_budget.h"
#include "notice_verify.h"
#include "util.h"

static struct log_budget console_notice_cap_log = {"notices left out", 0, 0, 0};

/* Per recipient: the relay sends each notice to every recipient of the
 * alert, and the page reads only the alert's own recipient's
 * (console_notice.c); one recipient's copy, or junk sent with one
 * recipient's secret, must not keep another's out. */
/* With ?4 (alert.escalated) each row's tier too, as jansson reads an
 * integer (the incoming one's, console_notice_cap_tier): a body SQLite's
 * JSON refuses (deeper than it goes) has none, as has one without. */
static const char console_notice_cap_sql[] =
    "SELECT body, CASE WHEN ?4 AND json_valid(CAST(body AS TEXT)) AND "
    "json_type(CAST(body AS TEXT), '$.tier') = 'integer' THEN "
    "json_extract(CAST(body AS TEXT), '$.tier') END FROM webhook WHERE "
    "alert_id = ?1 AND type = ?2 AND recipient_id = ?3 ORDER BY id";

/* What one kind of notice adds, and how many of the relay's word alone
 * are kept: an escalation adds its tier, the rest what they say. */
static int
console_notice_cap_tiered(const char *type)
{
	return strcmp(type, "alert.escalated") == 0;
}

static int
console_notice_cap_max(const char *type)
{
	return console_notice_cap_tiered(type) ? CONSOLE_NOTICE_TIERS_MAX
	                                       : CONSOLE_NOTICE_RELAY_MAX;
}

/* The signature a notice carries (a statement's, a cancel's), as sent:
 * base64 decoded strictly (libsodium), so one signature has one
 * spelling. */
static const char *
console_notice_cap_sig(const char *type, const json_t *o)
{
	if (strcmp(type, "alert.acknowledged") == 0)
		return json_str(json_object_get(o, "statement"), "sig");
	return json_str(o, "cancel_sig");
}

/* 1 when a device or recipient k knows signed it for alert_id, whatever
 * the alert's first row says (it may not be stored yet): the page's own
 * check (console_notice.c) is stricter, this only keeps it from the
 * cap. */
static int
console_notice_cap_vouched(struct hook_keys *k, const char *type,
    const json_t *o, const char *alert_id)
{
	char name[ACK_STMT_TEXT_MAX + 1];

	if (strcmp(type, "alert.acknowledged") == 0)
		return notice_verify_ack(k, o, alert_id, NULL, name,
		    sizeof(name));
	return notice_verify_cancel(k, o, alert_id, NULL) != NOTICE_RELAY;
}

/* The tier an escalation names (an integer), NULL when none. */
static const json_t *
console_notice_cap_tier(const struct hook_body *b)
{
	const json_t *t = json_object_get(b->o, "tier");

	return json_is_integer(t) ? t : NULL;
}

/* 1 when stored row r says what b says: the same bytes; for an
 * escalation the same tier (none alike); or (sig not NULL: b is signed)
 * the same signature, itself genuine (a relay may have sent a copy of
 * it with a broken statement first). */
static int
console_notice_cap_same(struct hook_keys *k, const struct hook_request *req,
    const struct hook_body *b, const char *sig, sqlite3_stmt *r)
{
	const void *body = sqlite3_column_blob(r, 0);
	size_t len = (size_t)sqlite3_column_bytes(r, 0);
	const json_t *tier = console_notice_cap_tier(b);
	const char *other;
	json_t *o;
	int same;

	if (len == req->bodylen && memcmp(body, req->body, len) == 0)
		return 1;
	if (console_notice_cap_tiered(b->type))
		return sqlite3_column_type(r, 1) == SQLITE_NULL
		    ? tier == NULL
		    : tier != NULL &&
		        sqlite3_column_int64(r, 1) == json_integer_value(tier);
	if (sig == NULL)
		return 0;
	o = json_loadb(body, len, 0, NULL);
	other = console_notice_cap_sig(b->type, o);
	same = other != NULL && strcmp(other, sig) == 0 &&
	    console_notice_cap_vouched(k, b->type, o, b->alert_id);
	json_decref(o);
	return same;
}

/* Through the stored notices of b's alert and type (few: this bound):
 * how many into n; 1 when one says what b says, 0 when none, -1 on a
 * database error. */
static int
console_notice_cap_scan(struct console *c, struct hook_keys *k,
    const struct hook_request *req, const struct hook_body *b, const char *sig,
    int *n)
{
	sqlite3_stmt *s = console_db_stmt(c->db, console_notice_cap_sql);
	int same = 0, rc;

	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, b->alert_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, b->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, b->recipient_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, console_notice_cap_tiered(b->type));
	while (!same && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		(*n)++;
		same = console_notice_cap_same(k, req, b, sig, s);
	}
	console_db_release(s);
	return same || rc == SQLITE_DONE ? same : -1;
}

static void
console_notice_cap_left_out(const struct hook_request *req,
    const struct hook_body *b, const char *why)
{
	if (log_budget_take(&console_notice_cap_log))
		log_warnx("notice %s of alert %s left out: %s, webhook %s",
		    b->type, b->alert_id, why, req->id);
}

/* 1 for the kinds of notice bounded here. */
static int
console_notice_cap_bounded(const char *type)
{
	return strcmp(type, "alert.acknowledged") == 0 ||
	    strcmp(type, "alert.cancelled") == 0 ||
	    strcmp(type, "alert.duress") == 0 ||
	    console_notice_cap_tiered(type);
}

/* 1 when b is a duress alarm that reopens its alert (closed now, and b
 * through its own recipient's hook: console_db_upgrade6.c): an alarm
 * again, whatever came before it; each needs an operator's closure. */
static int
console_notice_cap_reopens(struct console *c, const struct hook_body *b)
{
	char rid[ID_MAX + 1];

	return strcmp(b->type, "alert.duress") == 0 &&
	    console_work_recipient(c, b->alert_id, rid, sizeof(rid)) == 0 &&
	    strcmp(rid, b->recipient_id) == 0 &&
	    console_work_closed(c, b->alert_id, NULL, 0) == 1;
}

int
console_notice_admit(struct console *c, const struct hook_request *req,
    const struct hook_body *b)
{
	struct console_recipient *r;
	const char *sig = NULL;
	int n, same;

	if (!console_notice_cap_bounded(b->type))
		return 1;
	if ((r = console_config_find(&c->cfg, b->recipient_id)) == NULL)
		return 1; /* hook_handle took it for this recipient */
	if (!console_notice_cap_tiered(b->type) &&
	    console_notice_cap_vouched(&r->hook.keys, b->type, b->o,
	        b->alert_id))
		sig = console_notice_cap_sig(b->type, b->o);
	/* a database error stores it: better a row too many than a
	 * genuine notice lost */
	if ((same = console_notice_cap_scan(c, &r->hook.keys, req, b, sig,
	         &n)) == 1) {
		console_notice_cap_left_out(req, b,
		    console_notice_cap_tiered(b->type)
		        ? "its tier stored already"
		        : "stored already");
		return 0;
	}
	if (same == 0 && sig == NULL && n >= console_notice_cap_max(b->type) &&
	    !console_notice_cap_reopens(c, b)) {
		console_notice_cap_left_out(req, b,
		    console_notice_cap_tiered(b->type)
		        ? "enough tiers of it stored"
		        : "the relay's word only, and enough of those stored");
		return 0;
	}
	return 1;
}
