/*
 * The SQL function notice_signed (console_notice.h): whether a stored
 * relay notice takes its alert from the operators, as the page has it,
 * for the queries that count and order alerts without opening them
 * (CONSOLE_DB_WAITING, the metrics).  Each verdict is kept per notice
 * row: those queries test every open alert on each page load and
 * scrape, and a signature checked once need not be checked again while
 * the keys stay the same.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ack_statement.h"
#include "console_db.h"
#include "console_notice.h"
#include "frame.h"
#include "notice_verify.h"
#include "xmalloc.h"

/* Verdicts by notice row id, direct-mapped: a row's verdict stands
 * while its recipient's keys are those it was made with (their
 * generation), and a collision only costs the check again.  Rows are
 * never changed, so the id names what was checked.  Bounded: 64 Ki
 * entries (1 MiB). */
#define CONSOLE_NOTICE_SLOTS (1U << 16)

struct console_notice_slot {
	sqlite3_int64 id; /* 0: empty (row ids start at 1) */
	unsigned long generation;
	int signed_;
};

struct console_notice_sqlfn {
	struct console *c;
	struct console_notice_slot *slot; /* CONSOLE_NOTICE_SLOTS */
};

/* Whether a stored notice takes alert_body's alert from the operators,
 * checked as the page checks it (console_notice_add): a cancel must be
 * signed by the alert's own device (a cancel another enrolled device
 * signed for this alert id, held by a hostile relay, is only the relay's
 * word), an acknowledgement must name the alert's envelope. */
static int
console_notice_signed(struct hook_keys *k, const char *type, const json_t *body,
    const json_t *alert_body)
{
	const char *aid = json_str(body, "alert_id"),
	           *dev = json_str(alert_body, "device_id");
	char name[ACK_STMT_TEXT_MAX + 1];

	if (aid == NULL)
		return 0;
	if (strcmp(type, "alert.acknowledged") == 0)
		return notice_verify_ack(k, body, aid,
		    json_str(alert_body, "envelope_sha256"), name,
		    sizeof(name));
	/* no device named: none to check against, so no cancel counts */
	return dev != NULL &&
	    notice_verify_cancel(k, body, aid, dev) == NOTICE_CANCEL;
}

/* The notice's verdict, parsed and checked. */
static int
console_notice_check(struct hook_keys *k, sqlite3_value **v)
{
	const char *type = (const char *)sqlite3_value_text(v[2]);
	json_t *body = json_loadb(sqlite3_value_blob(v[3]),
	    (size_t)sqlite3_value_bytes(v[3]), 0, NULL);
	json_t *alert = json_loadb(sqlite3_value_blob(v[4]),
	    (size_t)sqlite3_value_bytes(v[4]), 0, NULL);
	int ok = type != NULL && json_is_object(body) &&
	    json_is_object(alert) &&
	    console_notice_signed(k, type, body, alert);

	json_decref(body);
	json_decref(alert);
	return ok;
}

/* notice_signed(id, recipient_id, type, body, alert_body): 1 when the
 * stored notice (webhook row id) is a signed acknowledgement or a
 * signed cancel (not under duress) of the alert whose first row's body
 * is alert_body, else 0. */
static void
console_notice_sql_signed(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
	struct console_notice_sqlfn *fn = sqlite3_user_data(ctx);
	sqlite3_int64 id = sqlite3_value_int64(v[0]);
	const char *rid = (const char *)sqlite3_value_text(v[1]);
	struct console_recipient *r =
	    rid != NULL ? console_config_find(&fn->c->cfg, rid) : NULL;
	struct console_notice_slot *e =
	    &fn->slot[(sqlite3_uint64)id % CONSOLE_NOTICE_SLOTS];
	unsigned long gen;

	(void)argc;
	if (r == NULL || id <= 0) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	gen = hook_keys_generation(&r->hook.keys);
	if (e->id != id || e->generation != gen) {
		e->signed_ = console_notice_check(&r->hook.keys, v);
		e->id = id;
		e->generation = gen;
	}
	sqlite3_result_int(ctx, e->signed_);
}

static void
console_notice_sql_free(void *p)
{
	struct console_notice_sqlfn *fn = p;

	free(fn->slot);
	free(fn);
}

int
console_notice_sql(struct console *c)
{
	struct console_notice_sqlfn *fn = xcalloc(1, sizeof(*fn));

	fn->c = c;
	fn->slot = xcalloc(CONSOLE_NOTICE_SLOTS, sizeof(*fn->slot));
	/* not deterministic: the directory may have changed since; the
	 * database owns fn from here, failure or not */
	return sqlite3_create_function_v2(console_db_sqlite(c->db),
	           "notice_signed", 5, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn,
	           console_notice_sql_signed, NULL, NULL,
	           console_notice_sql_free) == SQLITE_OK
	    ? 0
	    : -1;
}
