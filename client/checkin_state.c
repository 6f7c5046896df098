/*
 * The running check-in's record on the device (checkin_state.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "afile.h"
#include "b64.h"
#include "checkin_state.h"
#include "frame.h"
#include "log.h"
#include "outbox.h"
#include "xmalloc.h"

#define CHECKIN_STATE_FILE "checkin.json"

static char *
checkin_state_path(const struct client_config *cfg)
{
	char *dir = outbox_dir(cfg), *path;

	if (dir == NULL)
		return NULL;
	path = xasprintf("%s/%s", dir, CHECKIN_STATE_FILE);
	free(dir);
	return path;
}

/* The message sealed to the device itself (its Ed25519 key as X25519). */
static char *
checkin_state_seal(const unsigned char *sk, const char *message)
{
	unsigned char xpk[crypto_box_PUBLICKEYBYTES], *ct;
	size_t len = strlen(message), ctlen = len + crypto_box_SEALBYTES;
	char *b64 = NULL;

	if (crypto_sign_ed25519_pk_to_curve25519(xpk,
	        sk + crypto_sign_SEEDBYTES) != 0)
		return NULL;
	ct = xmalloc(ctlen);
	if (crypto_box_seal(ct, (const unsigned char *)message, len, xpk) == 0)
		b64 = b64_encode(ct, ctlen);
	free(ct);
	return b64;
}

static char *
checkin_state_open(const unsigned char *sk, const char *b64)
{
	unsigned char xpk[crypto_box_PUBLICKEYBYTES];
	unsigned char xsk[crypto_box_SECRETKEYBYTES], *ct = NULL;
	char *m = NULL;
	size_t ctlen;

	if (b64_decode(b64, strlen(b64), &ct, &ctlen) != 0 ||
	    ctlen < crypto_box_SEALBYTES ||
	    crypto_sign_ed25519_pk_to_curve25519(xpk,
	        sk + crypto_sign_SEEDBYTES) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(xsk, sk) != 0) {
		free(ct);
		return NULL;
	}
	m = xcalloc(1, ctlen - crypto_box_SEALBYTES + 1);
	if (crypto_box_seal_open((unsigned char *)m, ct, ctlen, xpk, xsk) !=
	    0) {
		free(m);
		m = NULL;
	}
	sodium_memzero(xsk, sizeof(xsk));
	free(ct);
	return m;
}

int
checkin_state_load(const struct client_config *cfg,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    struct checkin_state *st)
{
	char *path = checkin_state_path(cfg);
	json_t *o, *g;
	const char *m;
	json_error_t jerr;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (path == NULL || access(path, F_OK) != 0) {
		free(path);
		return 0;
	}
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	g = json_object_get(o, "grace_s");
	if (o == NULL ||
	    json_str_copy(o, "checkin_id", st->checkin_id,
	        sizeof(st->checkin_id)) != 0 ||
	    !alert_id_valid(st->checkin_id) ||
	    json_str_copy(o, "deadline", st->deadline, sizeof(st->deadline)) !=
	        0 ||
	    json_str_copy(o, "release_at", st->release_at,
	        sizeof(st->release_at)) != 0 ||
	    !json_is_integer(g))
		log_warnx("%s is unreadable; remove it", path);
	else if ((m = json_str(o, "message")) != NULL &&
	    (st->message = checkin_state_open(sk, m)) == NULL)
		log_warnx("%s: the message does not open with this device's "
		          "key",
		    path);
	else {
		st->grace_s = (long)json_integer_value(g);
		rc = 1;
	}
	json_decref(o);
	free(path);
	return rc;
}

int
checkin_state_save(const struct client_config *cfg,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    const struct checkin_state *st)
{
	char *path = checkin_state_path(cfg), *dir, *text, *sealed = NULL;
	char err[256];
	json_t *o;
	int rc = -1;

	if (path == NULL) {
		log_warnx("no place for the check-in: set [client] outbox or "
		          "HOME");
		return -1;
	}
	o = json_pack("{s:s, s:s, s:s, s:I}", "checkin_id", st->checkin_id,
	    "deadline", st->deadline, "release_at", st->release_at, "grace_s",
	    (json_int_t)st->grace_s);
	if (st->message != NULL &&
	    (sealed = checkin_state_seal(sk, st->message)) != NULL)
		json_object_set_new(o, "message", json_string(sealed));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	dir = afile_dirname(path);
	if (text != NULL && (st->message == NULL || sealed != NULL) &&
	    afile_mkdirs(dir, err, sizeof(err)) == 0 &&
	    afile_write(path, text, strlen(text), 0600, AFILE_REPLACE, err,
	        sizeof(err)) == 0)
		rc = 0;
	else
		log_warnx("cannot keep the check-in in %s", path);
	json_decref(o);
	free(text);
	free(sealed);
	free(dir);
	free(path);
	return rc;
}

void
checkin_state_remove(const struct client_config *cfg)
{
	char *path = checkin_state_path(cfg);

	if (path != NULL)
		(void)unlink(path);
	free(path);
}

void
checkin_state_clear(struct checkin_state *st)
{
	if (st->message != NULL) {
		sodium_memzero(st->message, strlen(st->message));
		free(st->message);
	}
	memset(st, 0, sizeof(*st));
}
