/*
 * Checking acknowledgements on the device (ack_verify.h): one verifier
 * per opened device, holding what the checks need (its configuration,
 * key, the envelope it last sent and its verified directory), so that
 * two devices in one process never check against each other's.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ack_verify.h"
#include "alert_seal.h"
#include "b64.h"
#include "cancel_receipt.h"
#include "directory.h"
#include "frame.h"
#include "i18n.h"
#include "outbox.h"
#include "trust.h"
#include "xmalloc.h"

struct ack_verifier {
	const struct client_config *cfg;
	const unsigned char *sk;
	char sent_id[33];
	char sent_hash[65];
	/* The directory file as last read and verified: read again only
	 * when the file changed (trust.h replaces it by a rename). */
	struct directory dir;
	int have_dir;
	struct stat dir_st;
};

struct ack_verifier *
ack_verify_new(const struct client_config *cfg, const unsigned char *sk)
{
	struct ack_verifier *av = xcalloc(1, sizeof(*av));

	av->cfg = cfg;
	av->sk = sk;
	return av;
}

static void
ack_verify_forget_dir(struct ack_verifier *av)
{
	if (av->have_dir)
		directory_free(&av->dir);
	av->have_dir = 0;
}

void
ack_verify_free(struct ack_verifier *av)
{
	if (av == NULL)
		return;
	ack_verify_forget_dir(av);
	sodium_memzero(av, sizeof(*av));
	free(av);
}

void
ack_verify_sent(struct ack_verifier *av, const char *alert_id,
    const char *envelope, size_t len)
{
	if (av == NULL)
		return;
	snprintf(av->sent_id, sizeof(av->sent_id), "%s", alert_id);
	ack_statement_envelope_hash(envelope, len, av->sent_hash);
}

int
ack_verify_ends_wait(enum ack_verdict v, int accept_relay)
{
	return v == ACK_VERIFIED || v == ACK_UNVERIFIED ||
	    (v == ACK_RELAY && accept_relay);
}

int
ack_verify_own_cancel(const struct ack_verifier *av, const json_t *ev,
    const char *alert_id)
{
	const char *what = json_str(ev, "event");

	return av != NULL && av->cfg != NULL && av->sk != NULL &&
	    what != NULL && strcmp(what, "cancelled") == 0 &&
	    cancel_receipt_own(ev, alert_id, av->cfg->device_id,
	        av->sk + crypto_sign_SEEDBYTES);
}

int
ack_verify_closes(struct ack_verifier *av, const json_t *ev,
    const char *alert_id, int accept_relay)
{
	const char *what = json_str(ev, "event");
	struct ack_check c;
	int closes;

	if (what == NULL)
		return 0;
	if (strcmp(what, "cancelled") == 0)
		return ack_verify_own_cancel(av, ev, alert_id);
	if (strcmp(what, "acknowledged") != 0)
		return 0;
	ack_verify_event(av, ev, alert_id, &c);
	closes = ack_verify_ends_wait(c.verdict, accept_relay);
	sodium_memzero(&c, sizeof(c));
	return closes;
}

/* The hash of the envelope this device signed for alert_id: the one it
 * just sent, else its outbox entry (then remembered, so that the next
 * receipt of the same alert reads no file); -1 when it has neither. */
static int
ack_verify_hash(struct ack_verifier *av, const char *alert_id, char out[65])
{
	const struct client_config *cfg = av->cfg;
	struct sealed_alert s;
	char *dir, *path;
	json_t *o;
	int rc = -1;

	if (strcmp(alert_id, av->sent_id) == 0) {
		memcpy(out, av->sent_hash, 65);
		return 0;
	}
	if (cfg == NULL || av->sk == NULL || (dir = outbox_dir(cfg)) == NULL)
		return -1;
	path = xasprintf("%s/%s.json", dir, alert_id);
	o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (o != NULL &&
	    outbox_entry_parse(o, av->sk + crypto_sign_SEEDBYTES, &s) == 1) {
		ack_statement_envelope_hash(s.envelope, strlen(s.envelope),
		    out);
		alert_seal_free(&s);
		snprintf(av->sent_id, sizeof(av->sent_id), "%s", alert_id);
		memcpy(av->sent_hash, out, sizeof(av->sent_hash));
		rc = 0;
	}
	json_decref(o);
	free(path);
	free(dir);
	return rc;
}

static int
ack_verify_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The directory this device holds, verified; NULL without one.  Read
 * and verified once, and again only when the file changed: not at every
 * receipt on the caller's loop. */
static const struct directory *
ack_verify_dir(struct ack_verifier *av)
{
	const struct client_config *cfg = av->cfg;
	char *path, err[512];
	struct stat st;
	int rc;

	if (cfg == NULL || !cfg->has_org ||
	    (path = trust_cache_path(cfg)) == NULL) {
		ack_verify_forget_dir(av);
		return NULL;
	}
	if (stat(path, &st) != 0) {
		free(path);
		ack_verify_forget_dir(av);
		return NULL;
	}
	if (av->have_dir && ack_verify_same_file(&st, &av->dir_st)) {
		free(path);
		return &av->dir;
	}
	ack_verify_forget_dir(av);
	rc = directory_load(path, cfg->org_pk, &av->dir, err, sizeof(err));
	free(path);
	if (rc != 0)
		return NULL;
	av->have_dir = 1;
	av->dir_st = st;
	return &av->dir;
}

static int
ack_verify_any_sign_key(const struct directory *d)
{
	size_t i;

	for (i = 0; i < d->nrecipients; i++)
		if (d->recipients[i].has_sign)
			return 1;
	return 0;
}

/* The operator's message, sealed to this device's key (the X25519 twin
 * of its Ed25519 key, published as box_key). */
static void
ack_verify_message(const struct ack_verifier *av,
    const struct ack_statement *st, struct ack_check *c)
{
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	unsigned char *ct = NULL, m[ACK_STMT_MESSAGE_MAX + 1];
	size_t n = 0;

	if (st->message[0] == '\0')
		return;
	snprintf(c->message, sizeof(c->message), "%s",
	    _("(a message that this device cannot open)"));
	if (av->sk == NULL ||
	    b64_decode(st->message, strlen(st->message), &ct, &n) != 0 ||
	    n <= crypto_box_SEALBYTES ||
	    n - crypto_box_SEALBYTES > ACK_STMT_MESSAGE_MAX ||
	    crypto_sign_ed25519_sk_to_curve25519(sk, av->sk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(pk,
	        av->sk + crypto_sign_SEEDBYTES) != 0 ||
	    crypto_box_seal_open(m, ct, n, pk, sk) != 0) {
		sodium_memzero(sk, sizeof(sk));
		free(ct);
		return;
	}
	n -= crypto_box_SEALBYTES;
	m[n] = '\0';
	snprintf(c->message, sizeof(c->message), "%s", (char *)m);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(m, sizeof(m));
	free(ct);
}

static void
ack_verify_statement(struct ack_verifier *av, const json_t *sj,
    const char *alert_id, const struct directory *d, struct ack_check *c)
{
	const struct dir_recipient *r;
	struct ack_statement st;
	char hash[65];

	c->verdict = ACK_REFUSED;
	if (ack_statement_parse(sj, &st) != 0)
		c->why = _("its signed statement is malformed");
	else if (alert_id == NULL || strcmp(st.alert_id, alert_id) != 0)
		c->why = _("it was signed for another alert");
	else if (ack_verify_hash(av, alert_id, hash) == 0 &&
	    strcmp(hash, st.envelope_sha256) != 0)
		c->why = _("it was signed for another version of this alert");
	else if ((r = directory_recipient(d, st.recipient)) == NULL)
		c->why = _("it names a recipient not in the directory");
	else if (!r->has_sign) {
		/* Others in the directory sign: a statement nobody can check
		 * is the relay's word, worth no more than an attested one
		 * (else a relay could end a wait with a made-up statement
		 * in the name of a recipient without a key). */
		c->verdict = ACK_RELAY;
		c->why = _("the directory has no signing key for it");
	} else if (ack_statement_verify(&st, r->sign_pk) != 0)
		c->why = _("its signature is false");
	else {
		c->verdict = ACK_VERIFIED;
		snprintf(c->kind, sizeof(c->kind), "%s", st.kind);
		snprintf(c->outcome, sizeof(c->outcome), "%s", st.outcome);
		if (st.by[0] != '\0')
			snprintf(c->who, sizeof(c->who), "%s (%s)", st.by,
			    r->alias);
		else
			snprintf(c->who, sizeof(c->who), "%s", r->alias);
		ack_verify_message(av, &st, c);
	}
}

void
ack_verify_event(struct ack_verifier *av, const json_t *ev,
    const char *alert_id, struct ack_check *c)
{
	const json_t *sj = json_object_get(ev, "statement");
	const char *what = json_str(ev, "event");
	const char *att = json_str(ev, "attested");
	const struct directory *d;

	memset(c, 0, sizeof(*c));
	snprintf(c->kind, sizeof(c->kind), "acknowledged");
	if (what == NULL || strcmp(what, "acknowledged") != 0) {
		c->verdict = ACK_NOT_AN_ACK;
		return;
	}
	d = av != NULL ? ack_verify_dir(av) : NULL;
	/* Without signing keys there is nothing to check with: as before
	 * signed acknowledgements, the relay's word, said to be so. */
	if (d == NULL || !ack_verify_any_sign_key(d)) {
		c->verdict = ACK_UNVERIFIED;
		c->why = d != NULL ? _("the directory has no signing keys")
		                   : _("this device holds no signed directory");
	} else if (sj != NULL && !json_is_null(sj))
		ack_verify_statement(av, sj, alert_id, d, c);
	else if (att != NULL && strcmp(att, "relay") == 0)
		c->verdict = ACK_RELAY;
	else {
		c->verdict = ACK_REFUSED;
		c->why = _("it carries no signed statement");
	}
}
