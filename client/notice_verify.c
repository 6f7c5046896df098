/*
 * Whose word a relay notice is (notice_verify.h): the device's signed
 * cancel and a recipient's signed acknowledgement, checked with the
 * receiver's keys; anything else is the relay's.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ack_statement.h"
#include "envelope.h"
#include "frame.h"
#include "notice_verify.h"
#include "signed_cancel.h"
#include "util.h"

/* The flag of a version 2 cancel: 0 or 1, else -1. */
static int
notice_verify_duress_flag(const json_t *cancel)
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
 * device's keys of the cancel's time must verify it.  A revoked
 * device's key may be in a thief's hands, and the created_at it signs
 * is the thief's to choose: none of its cancels counts, whenever made
 * (docs/SECURITY.md, "A cancel from a revoked device"). */
static enum notice_cancel
notice_verify_signed(struct hook_keys *k, const json_t *cancel,
    const unsigned char *json, size_t len, const unsigned char *sig)
{
	unsigned char pks[HOOK_MAX_DEVICE_KEYS][crypto_sign_PUBLICKEYBYTES];
	const char *dev = json_str(cancel, "device_id");
	int flag = notice_verify_duress_flag(cancel);
	size_t n, i;

	if (hook_keys_revoked(k, dev))
		return NOTICE_RELAY;
	n = hook_keys_device(k, dev, json_str(cancel, "created_at"), pks);
	for (i = 0; i < n; i++) {
		if (cancel_verify((const char *)json, len, sig, pks[i]) == 0)
			return NOTICE_CANCEL;
		if (flag >= 0 &&
		    sig_verify_ctx(SIGCTX_CANCEL2, json, len, sig, pks[i]) == 0)
			return flag ? NOTICE_DURESS : NOTICE_CANCEL;
	}
	return NOTICE_RELAY;
}

enum notice_cancel
notice_verify_cancel(struct hook_keys *k, const json_t *body,
    const char *alert_id, const char *device_id)
{
	enum notice_cancel rc = NOTICE_RELAY;
	struct signed_cancel sc;
	const char *aid, *dev;
	json_t *cancel;

	if (signed_cancel_decode(body, &sc) != 0)
		return rc;
	/* Parsed before its signature is checked: the device it names
	 * says which keys to check it with. */
	cancel = signed_cancel_parse(&sc);
	aid = json_str(cancel, "alert_id");
	dev = json_str(cancel, "device_id");
	if (aid != NULL && dev != NULL && id_valid(dev) &&
	    json_str(cancel, "created_at") != NULL &&
	    strcmp(aid, alert_id) == 0 &&
	    (device_id == NULL || strcmp(dev, device_id) == 0))
		rc = notice_verify_signed(k, cancel, sc.json, sc.len, sc.sig);
	json_decref(cancel);
	signed_cancel_free(&sc);
	return rc;
}

/* Who took it, as the statement and the signed directory say. */
static void
notice_verify_ack_name(const struct ack_statement *st,
    const struct dir_recipient *r, char *name, size_t namelen)
{
	if (st->by[0] != '\0')
		snprintf(name, namelen, "%s", st->by);
	else
		snprintf(name, namelen, "%s",
		    r->alias != NULL ? r->alias : r->id);
}

int
notice_verify_ack(struct hook_keys *k, const json_t *body, const char *alert_id,
    const char *envelope_sha256, char *name, size_t namelen)
{
	const struct dir_recipient *r;
	struct ack_statement st;

	/* the recipients' keys come only with the signed directory */
	if (k->directory == NULL ||
	    ack_statement_parse(json_object_get(body, "statement"), &st) != 0 ||
	    strcmp(st.alert_id, alert_id) != 0 ||
	    (envelope_sha256 != NULL &&
	        strcmp(st.envelope_sha256, envelope_sha256) != 0) ||
	    (r = directory_recipient(&k->dir, st.recipient)) == NULL ||
	    !r->has_sign || ack_statement_verify(&st, r->sign_pk) != 0)
		return 0;
	notice_verify_ack_name(&st, r, name, namelen);
	return 1;
}
