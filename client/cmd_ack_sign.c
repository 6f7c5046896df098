/*
 * alertctl ack: making the signed statement of an acknowledgement
 * (cmd_ack_sign.h, docs/PROTOCOL.md "Signed acknowledgements").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ack_sign.h"
#include "alertctl.h"
#include "cmd_ack_sign.h"
#include "directory.h"
#include "frame.h"
#include "i18n.h"
#include "keyfile.h"
#include "log.h"
#include "out.h"
#include "seckey.h"
#include "util.h"
#include "xmalloc.h"

#define CMD_ACK_SIGN_HOURS 168

/* --sign-key, else sign_key in [contactpoint], else ID.sign.key next to
 * recipient_key (ID.key), as alertctl recipient add leaves them. */
static char *
cmd_ack_sign_keypath(const struct cp_http *h, const struct cmd_ack_sign *s)
{
	const char *rk = h->cfg.recipient_key;
	size_t n;
	char *p;

	if (s->sign_key != NULL)
		return xstrdup(s->sign_key);
	if (h->cfg.sign_key != NULL)
		return xstrdup(h->cfg.sign_key);
	if (rk == NULL || (n = strlen(rk)) < 4 ||
	    strcmp(rk + n - 4, ".key") != 0)
		return NULL;
	p = xasprintf("%.*s.sign.key", (int)(n - 4), rk);
	if (access(p, F_OK) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* The inbox entry of target, with the relay's answer it came in
 * (*answer, caller decrefs).  An alert id is matched as an alert id
 * only: the statement then names the alert the operator named, whatever
 * the relay's inbox says (an entry whose ref is that id would otherwise
 * get another alert signed).  A reference is the relay's own name for an
 * alert, so which alert it stands for is the relay's word: the caller
 * says which one was signed. */
static const json_t *
cmd_ack_sign_find(struct cp_http *h, const char *target, json_t **answer)
{
	char err[CURL_ERROR_SIZE] = "", *path;
	struct http_reply *r = xcalloc(1, sizeof(*r));
	const json_t *alerts, *e, *found = NULL;
	const char *key;
	size_t i;

	*answer = NULL;
	path = xasprintf("/v1/inbox?hours=%d", CMD_ACK_SIGN_HOURS);
	h->get = 1;
	if (cp_http_request(h, path, r, err) == 0 && r->status == 200)
		*answer =
		    json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	else
		log_warnx(_("the relay's inbox did not answer: %s"),
		    err[0] != '\0' ? err : cp_http_meaning(r));
	h->get = 0;
	key = alert_id_valid(target) ? "alert_id" : "ref";
	alerts = json_object_get(*answer, "alerts");
	for (i = 0; json_is_array(alerts) && i < json_array_size(alerts); i++) {
		e = json_array_get(alerts, i);
		if (json_str(e, key) != NULL &&
		    strcmp(json_str(e, key), target) == 0 &&
		    json_str(e, "alert_id") != NULL &&
		    alert_id_valid(json_str(e, "alert_id")))
			found = e;
	}
	free(path);
	free(r);
	return found;
}

/* The device's box_key from the directory the contact point holds. */
static int
cmd_ack_sign_box(const struct cp_http *h, const char *device_id,
    unsigned char pk[crypto_box_PUBLICKEYBYTES])
{
	unsigned char org[crypto_sign_PUBLICKEYBYTES];
	const struct dir_device *dev;
	struct directory d;
	char err[512];
	int rc = -1;

	if (h->cfg.directory == NULL || h->cfg.org_key == NULL) {
		log_warnx(_("--message needs directory and org_key in "
		            "[contactpoint]: the message is sealed to the "
		            "device's key from the directory"));
		return -1;
	}
	if (keyfile_pubkey(NULL, h->cfg.org_key, org, sizeof(org), err,
	        sizeof(err)) != 0 ||
	    directory_load(h->cfg.directory, org, &d, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (device_id == NULL ||
	    (dev = directory_device(&d, device_id)) == NULL || !dev->has_box)
		log_warnx(_("the device has no box_key in the directory: no "
		            "message can be sealed to it"));
	else {
		memcpy(pk, dev->box_pk, crypto_box_PUBLICKEYBYTES);
		rc = 0;
	}
	directory_free(&d);
	return rc;
}

/* Which alert a reference stood for, before its statement is made:
 * the operator can hold it against the alert_id of the webhook. */
static void
cmd_ack_sign_say(const char *ref, const json_t *e)
{
	const char *dev = json_str(e, "device_id");
	char clean[128];

	out_line(_("reference %s is alert_id=%s (device %s), as the relay "
	           "says: the statement is signed for that alert"),
	    ref, json_str(e, "alert_id"),
	    out_clean(dev != NULL ? dev : "?", clean, sizeof(clean)));
}

static int
cmd_ack_sign_make(struct cp_http *h, const struct cmd_ack_sign *s,
    const json_t *e, const char *rid, const unsigned char *sk, char **body)
{
	unsigned char box[crypto_box_PUBLICKEYBYTES];
	struct ack_sign_req q;
	char err[256];

	memset(&q, 0, sizeof(q));
	q.alert_id = json_str(e, "alert_id");
	q.envelope_sha256 = json_str(e, "envelope_sha256");
	q.recipient = rid;
	q.by = s->by;
	q.kind = s->kind;
	q.outcome = s->outcome;
	q.message = s->message;
	if (s->message != NULL) {
		if (cmd_ack_sign_box(h, json_str(e, "device_id"), box) != 0)
			return EXIT_FAIL;
		q.box_pk = box;
	}
	if ((*body = ack_sign_body(&q, sk, err, sizeof(err))) == NULL) {
		log_warnx(_("the acknowledgement cannot be signed: %s"), err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int
cmd_ack_sign_body(struct cp_http *h, const struct cmd_ack_sign *s,
    const char *target, char **body)
{
	char err[512], *path;
	unsigned char *sk;
	const json_t *e;
	json_t *answer;
	int rc;

	*body = NULL;
	if (s->unsigned_ok)
		return EXIT_OK;
	if ((path = cmd_ack_sign_keypath(h, s)) == NULL) {
		if (s->message != NULL || s->kind != NULL) {
			log_warnx(
			    _("--message, --on-the-way and --closed need "
			      "the recipient's signing key (--sign-key)"));
			return EXIT_FAIL;
		}
		log_warnx(_("no signing key (--sign-key, or sign_key in "
		            "[contactpoint]): the official sees this "
		            "acknowledgement as unverified"));
		return EXIT_OK;
	}
	if ((sk = ack_sign_key_load(path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		free(path);
		return EXIT_FAIL;
	}
	free(path);
	e = cmd_ack_sign_find(h, target, &answer);
	if (e == NULL || json_str(e, "envelope_sha256") == NULL ||
	    json_str(answer, "recipient") == NULL) {
		/* Let the relay say why (no such alert, cancelled). */
		log_warnx(_("alert %s is not open in your inbox: sent "
		            "without a statement"),
		    target);
		rc = EXIT_OK;
	} else {
		if (!alert_id_valid(target))
			cmd_ack_sign_say(target, e);
		rc = cmd_ack_sign_make(h, s, e, json_str(answer, "recipient"),
		    sk, body);
	}
	json_decref(answer);
	seckey_free(sk);
	return rc;
}
