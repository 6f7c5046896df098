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
#include <sodium.h>
#include <sqlite3.h>

#include "ack_statement.h"
#include "console_db.h"
#include "console_notice.h"
#include "log.h"
#include "frame.h"
#include "notice_verify.h"
#include "xmalloc.h"

/* Verdicts by notice row id, direct-mapped: a row's verdict stands
 * while its recipient's keys are those it was made with (their
 * generation) and what was checked is the same (a hash of it: a row id
 * may come back after a retention sweep or `alertconsole forget`); a
 * collision only costs the check again.  Bounded: 64 Ki entries
 * (2 MiB). */
#define CONSOLE_NOTICE_SLOTS (1U << 16)
#define CONSOLE_NOTICE_HASH 16

struct console_notice_slot {
	unsigned long generation;
	unsigned char hash[CONSOLE_NOTICE_HASH];
	int used, signed_;
};

struct console_notice_sqlfn {
	struct console *c;
	struct console_notice_slot *slot; /* CONSOLE_NOTICE_SLOTS */
};

int
console_notice_signed(struct hook_keys *k, const char *type, const json_t *body,
    const json_t *alert_body, char *name, size_t namelen)
{
	const char *aid = json_str(body, "alert_id"),
	           *dev = json_str(alert_body, "device_id");
	char unused[ACK_STMT_TEXT_MAX + 1];

	if (name == NULL) {
		name = unused;
		namelen = sizeof(unused);
	}
	if (aid == NULL)
		return 0;
	if (strcmp(type, "alert.acknowledged") == 0)
		return notice_verify_ack(k, body, aid,
		    json_str(alert_body, "envelope_sha256"), name, namelen);
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
	    console_notice_signed(k, type, body, alert, NULL, 0);

	json_decref(body);
	json_decref(alert);
	return ok;
}

/* A hash of what the verdict is made from: recipient, type, notice and
 * alert, each with its length. */
static void
console_notice_hash(sqlite3_value **v, unsigned char *out)
{
	crypto_generichash_state st;
	unsigned long long len;
	int i;

	crypto_generichash_init(&st, NULL, 0, CONSOLE_NOTICE_HASH);
	for (i = 1; i < 5; i++) {
		len = (unsigned long long)sqlite3_value_bytes(v[i]);
		crypto_generichash_update(&st, (const unsigned char *)&len,
		    sizeof(len));
		crypto_generichash_update(&st, sqlite3_value_blob(v[i]), len);
	}
	crypto_generichash_final(&st, out, CONSOLE_NOTICE_HASH);
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
	unsigned char hash[CONSOLE_NOTICE_HASH];
	unsigned long gen;

	(void)argc;
	/* without its alert (a notice may come first) there is nothing
	 * to check against yet: no verdict to keep */
	if (r == NULL || id <= 0 || sqlite3_value_type(v[4]) == SQLITE_NULL) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	gen = hook_keys_generation(&r->hook.keys);
	console_notice_hash(v, hash);
	if (!e->used || e->generation != gen ||
	    sodium_memcmp(e->hash, hash, sizeof(hash)) != 0) {
		e->signed_ = console_notice_check(&r->hook.keys, v);
		memcpy(e->hash, hash, sizeof(hash));
		e->generation = gen;
		e->used = 1;
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
	if (sqlite3_create_function_v2(console_db_sqlite(c->db),
	        "notice_signed", 5, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn,
	        console_notice_sql_signed, NULL, NULL,
	        console_notice_sql_free) != SQLITE_OK) {
		log_warnx("database: notice_signed: %s",
		    sqlite3_errmsg(console_db_sqlite(c->db)));
		return -1;
	}
	return 0;
}
