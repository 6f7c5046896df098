/*
 * alertctl keygen: device (Ed25519) and recipient (X25519) key pairs,
 * webhook secrets, acknowledgement tokens, and the relay's TLS key and
 * certificate (keygen_cert.c).
 */
#include <sys/stat.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "i18n.h"
#include "alertctl.h"
#include "b64.h"
#include "keyfile.h"
#include "keygen_cert.h"
#include "log.h"
#include "out.h"
#include "seckey.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

#define ACK_TOKEN_BYTES 32

static int
cmd_keygen_exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		log_errorx(_("%s already exists; not overwriting it"), path);
		return 1;
	}
	return 0;
}

/* A kind of key pair: its sizes, how a pair is made, and how the
 * public key follows from the secret one (0, or -1 when the secret key
 * is not one of this kind). */
struct keygen_pair_kind {
	size_t sklen, pklen;
	void (*make)(unsigned char *pk, unsigned char *sk);
	int (*derive)(unsigned char *pk, const unsigned char *sk);
};

static void
cmd_keygen_device_make(unsigned char *pk, unsigned char *sk)
{
	crypto_sign_keypair(pk, sk);
}

/* An Ed25519 secret key holds its public key: taken when whole (the
 * seed gives it, seckey_ed25519_valid). */
static int
cmd_keygen_device_derive(unsigned char *pk, const unsigned char *sk)
{
	if (!seckey_ed25519_valid(sk))
		return -1;
	return crypto_sign_ed25519_sk_to_pk(pk, sk);
}

static void
cmd_keygen_recipient_make(unsigned char *pk, unsigned char *sk)
{
	crypto_box_keypair(pk, sk);
}

/* Any 32 bytes are an X25519 secret key: only the size (keyfile_read)
 * tells a recipient's key from another kind. */
static int
cmd_keygen_recipient_derive(unsigned char *pk, const unsigned char *sk)
{
	return crypto_scalarmult_base(pk, sk);
}

/* The largest public key of a kind below. */
#define KEYGEN_PK_MAX 32
_Static_assert(crypto_sign_PUBLICKEYBYTES <= KEYGEN_PK_MAX &&
        crypto_box_PUBLICKEYBYTES <= KEYGEN_PK_MAX,
    "a public key longer than KEYGEN_PK_MAX");

static const struct keygen_pair_kind keygen_device =
    {crypto_sign_SECRETKEYBYTES, crypto_sign_PUBLICKEYBYTES,
        cmd_keygen_device_make, cmd_keygen_device_derive};
static const struct keygen_pair_kind keygen_recipient =
    {crypto_box_SECRETKEYBYTES, crypto_box_PUBLICKEYBYTES,
        cmd_keygen_recipient_make, cmd_keygen_recipient_derive};

static int
cmd_keygen_print_pub(const unsigned char *pk, size_t pklen)
{
	char *b64 = b64_encode(pk, pklen);
	int rc = out_line("%s", b64) == 0 ? EXIT_OK : EXIT_FAIL;

	free(b64);
	return rc;
}

/* --complete: PREFIX.key without PREFIX.pub, a keygen cut short
 * between the two (killed, the disk full).  The key was never shown to
 * anyone, so the pair may be completed from it: PREFIX.pub written and
 * printed.  Only when asked: an administrator who removed the .pub to
 * rotate a key must not get the old key back. */
static int
cmd_keygen_complete(const struct keygen_pair_kind *k, const char *skpath,
    const char *pkpath)
{
	unsigned char *sk, pk[KEYGEN_PK_MAX];
	char err[512];
	int rc = EXIT_FAIL;

	if ((sk = seckey_load(skpath, k->sklen, err, sizeof(err))) == NULL) {
		log_errorx("%s", err);
		return EXIT_FAIL;
	}
	if (k->derive(pk, sk) != 0) {
		log_errorx(_("%s is not a key of this kind; not touching it"),
		    skpath);
		goto out;
	}
	if (cmd_keygen_exists(pkpath))
		goto out;
	if (keyfile_write(pkpath, pk, k->pklen, 0, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	rc = cmd_keygen_print_pub(pk, k->pklen);
out:
	seckey_free(sk);
	return rc;
}

/* Writes PREFIX.key and PREFIX.pub and prints the public key; with
 * complete, only PREFIX.pub from the PREFIX.key there. */
static int
cmd_keygen_pair(const char *prefix, const struct keygen_pair_kind *k,
    int complete, const char *kind)
{
	char *skpath = xasprintf("%s.key", prefix);
	char *pkpath = xasprintf("%s.pub", prefix);
	unsigned char *sk = NULL, pk[KEYGEN_PK_MAX];
	struct stat st;
	char err[512];
	int rc = EXIT_FAIL;

	if (complete) {
		rc = cmd_keygen_complete(k, skpath, pkpath);
		goto out;
	}
	if (lstat(skpath, &st) == 0 && lstat(pkpath, &st) != 0) {
		log_errorx(_("%s exists without %s: if an earlier keygen was "
		             "cut short, 'alertctl keygen %s --complete %s' "
		             "writes %s from it; for a new key, remove %s "
		             "first"),
		    skpath, pkpath, kind, prefix, pkpath, skpath);
		goto out;
	}
	if (cmd_keygen_exists(skpath) || cmd_keygen_exists(pkpath))
		goto out;
	sk = seckey_alloc(k->sklen);
	k->make(pk, sk);
	if (keyfile_write(skpath, sk, k->sklen, 1, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	if (keyfile_write(pkpath, pk, k->pklen, 0, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		unlink(skpath);
		goto out;
	}
	rc = cmd_keygen_print_pub(pk, k->pklen);
out:
	seckey_free(sk);
	free(skpath);
	free(pkpath);
	return rc;
}

static int
cmd_keygen_webhook_secret(const char *path)
{
	char err[512], *secret;
	int rc = EXIT_OK;

	if (cmd_keygen_exists(path))
		return EXIT_FAIL;
	secret = whsec_generate();
	if (keyfile_write_text(path, secret, 1, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		rc = EXIT_FAIL;
	}
	sodium_memzero(secret, strlen(secret));
	free(secret);
	return rc;
}

/* 32 random bytes, base64url without padding: a Bearer token as is. */
static int
cmd_keygen_ack_token(const char *path)
{
	unsigned char raw[ACK_TOKEN_BYTES];
	char token[sodium_base64_ENCODED_LEN(ACK_TOKEN_BYTES,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char err[512];
	int rc = EXIT_OK;

	if (cmd_keygen_exists(path))
		return EXIT_FAIL;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, sizeof(token), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (keyfile_write_text(path, token, 1, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		rc = EXIT_FAIL;
	}
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(token, sizeof(token));
	return rc;
}

enum { OPT_TYPE = 256, OPT_NAME, OPT_DAYS, OPT_COMPLETE };

/* keygen relay-cert's options, and --complete of a key pair's. */
static int
cmd_keygen_opt(int ch, struct keygen_cert_opts *c, int *cert_opts,
    int *complete)
{
	switch (ch) {
	case OPT_COMPLETE:
		*complete = 1;
		return 0;
	case OPT_TYPE:
		if (strcmp(optarg, "p256") != 0 &&
		    strcmp(optarg, "ed25519") != 0)
			return usage_error("keygen",
			    _("--type is p256 or ed25519"));
		c->type = optarg;
		break;
	case OPT_NAME:
		c->names = optarg;
		break;
	case OPT_DAYS:
		if (parse_long(optarg, 1, KEYGEN_CERT_DAYS_MAX, &c->days) != 0)
			return usage_error("keygen", _("--days must be 1..%d"),
			    KEYGEN_CERT_DAYS_MAX);
		break;
	case 'h':
		usage_print("keygen", stdout);
		return -1;
	default:
		return usage_error("keygen", _("bad option"));
	}
	if (ch != 'h')
		*cert_opts = 1;
	return 0;
}

int
cmd_keygen(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    {"type", required_argument, NULL, OPT_TYPE},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"days", required_argument, NULL, OPT_DAYS},
	    {"complete", no_argument, NULL, OPT_COMPLETE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct keygen_cert_opts c = {NULL, "p256", "localhost,127.0.0.1",
	    KEYGEN_CERT_DAYS_DEFAULT};
	const char *kind, *name;
	int ch, rc, cert_opts = 0, complete = 0;

	(void)g;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		if ((rc = cmd_keygen_opt(ch, &c, &cert_opts, &complete)) != 0)
			return rc == -1 ? EXIT_OK : rc;
	if (argc - optind != 2)
		return usage_error("keygen",
		    _("expected a kind and a file name"));
	kind = argv[optind];
	name = argv[optind + 1];
	if (*name == '\0')
		return usage_error("keygen", _("empty file name"));
	if (cert_opts && strcmp(kind, "relay-cert") != 0)
		return usage_error("keygen",
		    _("--type, --name and --days are for relay-cert"));
	if (complete && strcmp(kind, "device") != 0 &&
	    strcmp(kind, "recipient") != 0)
		return usage_error("keygen",
		    _("--complete is for device and recipient"));
	if (strcmp(kind, "device") == 0)
		return cmd_keygen_pair(name, &keygen_device, complete, kind);
	if (strcmp(kind, "recipient") == 0)
		return cmd_keygen_pair(name, &keygen_recipient, complete, kind);
	if (strcmp(kind, "webhook-secret") == 0)
		return cmd_keygen_webhook_secret(name);
	/* An admin token is made as an ack token is: a bearer token. */
	if (strcmp(kind, "ack-token") == 0 || strcmp(kind, "admin-token") == 0)
		return cmd_keygen_ack_token(name);
	if (strcmp(kind, "relay-cert") == 0) {
		c.prefix = name;
		return keygen_cert(&c);
	}
	return usage_error("keygen",
	    _("unknown kind '%s' (device, recipient, webhook-secret, "
	      "ack-token, admin-token or relay-cert)"),
	    kind);
}
