/*
 * Checking the statement an acknowledgement carries, before it is
 * stored (ack_signed.h).
 */
#include <string.h>

#include <jansson.h>

#include "ack_signed.h"
#include "text_char.h"

enum ack_signed_result
ack_signed_parse(const char *body, size_t len, const char *rid, const char *aid,
    const struct directory *dir, json_t **out, const char **why)
{
	const struct dir_recipient *r;
	struct ack_statement st;
	json_t *o, *sj;
	enum ack_signed_result rc = ACK_SIGNED_BAD;

	*out = NULL;
	*why = "bad statement";
	if (len == 0)
		return ACK_SIGNED_NONE;
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return ACK_SIGNED_NONE; /* ack_parse_by answers it */
	if ((sj = json_object_get(o, "statement")) == NULL)
		rc = ACK_SIGNED_NONE;
	else if (ack_statement_parse(sj, &st) != 0)
		*why = "statement malformed";
	else if (strcmp(st.recipient, rid) != 0)
		*why = "statement of another recipient";
	else if (aid != NULL && strcmp(st.alert_id, aid) != 0)
		*why = "statement for another alert";
	else if (dir != NULL && (r = directory_recipient(dir, rid)) != NULL &&
	    r->has_sign && ack_statement_verify(&st, r->sign_pk) != 0)
		*why = "statement signature does not verify";
	/* Refused rather than stored with the recipient's alias in its
	 * place: the statement is kept as signed, its "by" with it, and the
	 * relay cannot change a signed name; stored, it would be a name
	 * alertctl and alertconsole show as "?" (text_char.h), who took the
	 * alarm unseen.  The signer hears why and can sign again. */
	else if (st.by[0] != '\0' && !text_ok(st.by, ACK_STMT_TEXT_MAX)) {
		*why = "statement by must be a name without control "
		       "characters, bidi overrides or isolates";
		rc = ACK_SIGNED_BAD_NAME;
	} else {
		*out = json_incref(sj);
		rc = ACK_SIGNED_OK;
	}
	json_decref(o);
	return rc;
}
