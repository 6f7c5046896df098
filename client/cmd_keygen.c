/*
 * alertctl keygen: device (Ed25519) and recipient (X25519) key pairs,
 * webhook secrets and acknowledgement tokens.
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
#include "log.h"
#include "out.h"
#include "seckey.h"
#include "usage.h"
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

/* Writes PREFIX.key and PREFIX.pub, both or neither, and prints the
 * public key. */
static int
cmd_keygen_write_pair(const char *prefix, const unsigned char *sk, size_t sklen,
    const unsigned char *pk, size_t pklen)
{
	char *skpath = xasprintf("%s.key", prefix);
	char *pkpath = xasprintf("%s.pub", prefix);
	char err[512], *b64;
	int rc = EXIT_FAIL;

	if (cmd_keygen_exists(skpath) || cmd_keygen_exists(pkpath))
		goto out;
	if (keyfile_write(skpath, sk, sklen, 1, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	if (keyfile_write(pkpath, pk, pklen, 0, err, sizeof(err)) != 0) {
		log_errorx("%s", err);
		unlink(skpath);
		goto out;
	}
	b64 = b64_encode(pk, pklen);
	if (out_line("%s", b64) == 0)
		rc = EXIT_OK;
	free(b64);
out:
	free(skpath);
	free(pkpath);
	return rc;
}

static int
cmd_keygen_device(const char *prefix)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = seckey_alloc(crypto_sign_SECRETKEYBYTES);
	int rc;

	crypto_sign_keypair(pk, sk);
	rc = cmd_keygen_write_pair(prefix, sk, crypto_sign_SECRETKEYBYTES, pk,
	    sizeof(pk));
	seckey_free(sk);
	return rc;
}

static int
cmd_keygen_recipient(const char *prefix)
{
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char *sk = seckey_alloc(crypto_box_SECRETKEYBYTES);
	int rc;

	crypto_box_keypair(pk, sk);
	rc = cmd_keygen_write_pair(prefix, sk, crypto_box_SECRETKEYBYTES, pk,
	    sizeof(pk));
	seckey_free(sk);
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

int
cmd_keygen(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *kind, *name;
	int ch;

	(void)g;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch != 'h')
			return usage_error("keygen", _("bad option"));
		usage_print("keygen", stdout);
		return EXIT_OK;
	}
	if (argc - optind != 2)
		return usage_error("keygen",
		    _("expected a kind and a file name"));
	kind = argv[optind];
	name = argv[optind + 1];
	if (*name == '\0')
		return usage_error("keygen", _("empty file name"));
	if (strcmp(kind, "device") == 0)
		return cmd_keygen_device(name);
	if (strcmp(kind, "recipient") == 0)
		return cmd_keygen_recipient(name);
	if (strcmp(kind, "webhook-secret") == 0)
		return cmd_keygen_webhook_secret(name);
	/* An admin token is made as an ack token is: a bearer token. */
	if (strcmp(kind, "ack-token") == 0 || strcmp(kind, "admin-token") == 0)
		return cmd_keygen_ack_token(name);
	return usage_error("keygen",
	    _("unknown kind '%s' (device, recipient, webhook-secret, "
	      "ack-token or admin-token)"),
	    kind);
}
