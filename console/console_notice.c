/*
 * Whose word a relay notice is (console_notice.h): the device's signed
 * cancel and a recipient's signed acknowledgement are checked here with
 * the keys the console already holds; anything else is the relay's.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "ack_statement.h"
#include "b64.h"
#include "console_db.h"
#include "console_notice.h"
#include "envelope.h"
#include "frame.h"

#define CONSOLE_NOTICE_CANCEL_MAX 1024 /* a CANCEL_JSON is ~150 bytes */

/* What each kind of notice of one alert amounts to. */
struct console_notice_sum {
	int cancel_device, cancel_relay;
	int duress_device, duress_relay;
	int ack_signed, ack_relay;
	char ack_name[ACK_STMT_TEXT_MAX + 1];
	char relay_by[ACK_STMT_TEXT_MAX + 1];
};

/* The flag of a version 2 cancel: 0 or 1, else -1. */
static int
console_notice_duress_flag(const json_t *cancel)
{
	json_t *v = json_object_get(cancel, "v");
	json_t *d = json_object_get(cancel, "duress");

	if (!json_is_integer(v) || json_integer_value(v) != 2 ||
	    !json_is_integer(d) || json_integer_value(d) < 0 ||
	    json_integer_value(d) > 1)
		return -1;
	return (int)json_integer_value(d);
}

/* The signature under v1, else under v2 with its flag; one of the
 * device's keys of the cancel's time must verify it. */
static enum console_notice_cancel
console_notice_verify(struct hook_config *hook, const json_t *cancel,
    const unsigned char *json, size_t len, const unsigned char *sig)
{
	unsigned char pks[HOOK_MAX_DEVICE_KEYS][crypto_sign_PUBLICKEYBYTES];
	size_t n, i;
	int flag = console_notice_duress_flag(cancel);

	n = hook_keys_device(&hook->keys, json_str(cancel, "device_id"),
	    json_str(cancel, "created_at"), pks);
	for (i = 0; i < n; i++) {
		if (cancel_verify((const char *)json, len, sig, pks[i]) == 0)
			return CONSOLE_NOTICE_CANCEL;
		if (flag >= 0 &&
		    sig_verify_ctx(SIGCTX_CANCEL2, json, len, sig, pks[i]) == 0)
			return flag ? CONSOLE_NOTICE_DURESS
			            : CONSOLE_NOTICE_CANCEL;
	}
	return CONSOLE_NOTICE_RELAY;
}

enum console_notice_cancel
console_notice_cancel(struct hook_config *hook, const json_t *body,
    const char *alert_id, const char *device_id)
{
	const char *b64 = json_str(body, "cancel"),
	           *sigtext = json_str(body, "cancel_sig");
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	enum console_notice_cancel rc = CONSOLE_NOTICE_RELAY;
	const char *aid, *dev;
	json_t *cancel = NULL;
	size_t len = 0;

	if (b64 == NULL || sigtext == NULL ||
	    strlen(b64) > CONSOLE_NOTICE_CANCEL_MAX * 4 / 3 + 4 ||
	    b64_decode_exact(sigtext, sig, sizeof(sig)) != 0 ||
	    b64_decode(b64, strlen(b64), &json, &len) != 0)
		return rc;
	cancel =
	    json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, NULL);
	aid = json_str(cancel, "alert_id");
	dev = json_str(cancel, "device_id");
	if (aid != NULL && dev != NULL && id_valid(dev) &&
	    json_str(cancel, "created_at") != NULL &&
	    strcmp(aid, alert_id) == 0 &&
	    (device_id == NULL || strcmp(dev, device_id) == 0))
		rc = console_notice_verify(hook, cancel, json, len, sig);
	json_decref(cancel);
	free(json);
	return rc;
}

/* Who took it, as the statement and the signed directory say. */
static void
console_notice_ack_name(const struct ack_statement *st,
    const struct dir_recipient *r, char *name, size_t namelen)
{
	if (st->by[0] != '\0')
		snprintf(name, namelen, "%s", st->by);
	else
		snprintf(name, namelen, "%s",
		    r->alias != NULL ? r->alias : r->id);
}

int
console_notice_ack(struct hook_config *hook, const json_t *body,
    const char *alert_id, const json_t *alert_body, char *name, size_t namelen)
{
	const char *hash = json_str(alert_body, "envelope_sha256");
	const struct dir_recipient *r;
	struct ack_statement st;

	/* the recipients' keys come only with the signed directory */
	if (hook->keys.directory == NULL ||
	    ack_statement_parse(json_object_get(body, "statement"), &st) != 0 ||
	    strcmp(st.alert_id, alert_id) != 0 ||
	    (hash != NULL && strcmp(st.envelope_sha256, hash) != 0) ||
	    (r = directory_recipient(&hook->keys.dir, st.recipient)) == NULL ||
	    !r->has_sign || ack_statement_verify(&st, r->sign_pk) != 0)
		return 0;
	console_notice_ack_name(&st, r, name, namelen);
	return 1;
}

/* One stored notice of the alert, added to sum. */
static void
console_notice_add(struct hook_config *hook, const struct alert *a,
    const json_t *alert_body, const char *type, const json_t *body,
    struct console_notice_sum *sum)
{
	enum console_notice_cancel k;
	const char *by;

	if (strcmp(type, "alert.acknowledged") == 0) {
		if (console_notice_ack(hook, body, a->alert_id, alert_body,
		        sum->ack_name, sizeof(sum->ack_name)))
			sum->ack_signed = 1;
		else if (!sum->ack_relay++) {
			by = json_str(body, "acknowledged_by");
			snprintf(sum->relay_by, sizeof(sum->relay_by), "%s",
			    by != NULL ? by : "?");
		}
		return;
	}
	k = console_notice_cancel(hook, body, a->alert_id, a->device_id);
	/* a signed duress cancel says duress whatever event carries it */
	if (k == CONSOLE_NOTICE_DURESS)
		sum->duress_device = 1;
	else if (strcmp(type, "alert.duress") == 0)
		sum->duress_relay = 1;
	else if (k == CONSOLE_NOTICE_CANCEL)
		sum->cancel_device = 1;
	else
		sum->cancel_relay = 1;
}

static const char console_notice_sql[] =
    "SELECT type, body FROM webhook WHERE alert_id = ?1 AND type IN "
    "('alert.acknowledged', 'alert.cancelled', 'alert.duress') ORDER BY id";

static void
console_notice_sum(struct console *c, struct hook_config *hook,
    const struct alert *a, const json_t *alert_body,
    struct console_notice_sum *sum)
{
	sqlite3_stmt *s = console_db_stmt(c->db, console_notice_sql);
	json_t *body;

	if (s == NULL)
		return;
	sqlite3_bind_text(s, 1, a->alert_id, -1, SQLITE_STATIC);
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

static const char console_notice_own_sql[] =
    "SELECT actor FROM timeline WHERE alert_id = ?1 AND kind = "
    "'acknowledged' ORDER BY at LIMIT 1";

/* The first acknowledgement an operator of this console made, or NULL
 * (the caller frees). */
static char *
console_notice_own_ack(struct console *c, const char *alert_id)
{
	sqlite3_stmt *s = console_db_stmt(c->db, console_notice_own_sql);
	char *who = NULL;

	if (s == NULL)
		return NULL;
	sqlite3_bind_text(s, 1, alert_id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		who = strdup((const char *)sqlite3_column_text(s, 0));
	console_db_release(s);
	return who;
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

const char *
console_notice_kind(struct console *c, const char *type, const json_t *body)
{
	const char *rid = json_str(body, "recipient_id"),
	           *aid = json_str(body, "alert_id");
	struct console_recipient *r =
	    rid != NULL ? console_config_find(&c->cfg, rid) : NULL;
	char name[ACK_STMT_TEXT_MAX + 1];

	if (strcmp(type, "alert.acknowledged") == 0)
		return r != NULL && aid != NULL &&
		        console_notice_ack(&r->hook, body, aid, NULL, name,
		            sizeof(name))
		    ? "acknowledged"
		    : "acknowledged_relay";
	return r != NULL && aid != NULL &&
	        console_notice_cancel(&r->hook, body, aid, NULL) ==
	            CONSOLE_NOTICE_CANCEL
	    ? "cancelled"
	    : "cancelled_relay";
}
