/* TLS 1.3 contexts for both ends and the relay key's pin (tls.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "b64.h"
#include "envelope.h"
#include "tls.h"

const char *
tls_error_string(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static SSL_CTX *
tls_ctx_new(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s", tls_error_string());
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) {
		snprintf(err, errlen, "TLS 1.3 setup: %s", tls_error_string());
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
	return ctx;
}

SSL_CTX *
tls_server_ctx(const char *certfile, const char *keyfile, char *err,
    size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_new(TLS_server_method(), err, errlen);

	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) {
		snprintf(err, errlen, "%s: %s", certfile, tls_error_string());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "%s: %s", keyfile, tls_error_string());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s does not match %s", keyfile,
		    certfile);
		goto fail;
	}
	/* No resumption: devices always make a full handshake (alertctl
	 * keeps no session), so tickets would only cost each handshake
	 * two encryptions and a session copy, and nothing is cached. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* Thousands of devices sit idle between alerts: give each idle
	 * connection's record buffers (tens of KiB) back (make bench). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* A peer that closes without close_notify is closed, not an error
	 * to answer: OpenSSL would otherwise write a fatal alert to a
	 * socket whose peer is gone (a write, and a reset from its kernel),
	 * for each of 10,000 devices dropped at once (make bench, the
	 * reconnect storm).  Nothing is lost by it: every protocol served
	 * here carries its own lengths (frames, HTTP), so a stream cut
	 * short is an incomplete message, never a shorter complete one. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx(char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_new(TLS_client_method(), err, errlen);

	/* The chain is not checked against a CA: the pin is the trust. */
	if (ctx != NULL)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

int
tls_pin_of_cert(X509 *cert, char pin[TLS_PIN_LEN])
{
	unsigned char *der = NULL, hash[crypto_hash_sha256_BYTES];
	char *b64;
	int n;

	n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	if (n <= 0)
		return -1;
	crypto_hash_sha256(hash, der, (unsigned long long)n);
	OPENSSL_free(der);
	b64 = b64_encode(hash, sizeof(hash));
	snprintf(pin, TLS_PIN_LEN, "%s", b64);
	free(b64);
	return 0;
}

int
tls_pin_of_file(const char *certfile, char pin[TLS_PIN_LEN])
{
	FILE *f = fopen(certfile, "r");
	X509 *cert;
	int rc;

	if (f == NULL)
		return -1;
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL)
		return -1;
	rc = tls_pin_of_cert(cert, pin);
	X509_free(cert);
	return rc;
}

int
tls_peer_matches_pin(SSL *ssl, const char *const *pins, size_t npins)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	char pin[TLS_PIN_LEN];
	size_t i;

	if (cert == NULL || tls_pin_of_cert(cert, pin) != 0)
		return 0;
	for (i = 0; i < npins; i++)
		if (strcmp(pins[i], pin) == 0)
			return 1;
	return 0;
}

int
tls_auth_binding(SSL *ssl, unsigned char out[32])
{
	const char *label = AUTH_EXPORTER_LABEL;

	return SSL_export_keying_material(ssl, out, 32, label, strlen(label),
	           NULL, 0, 0) == 1
	    ? 0
	    : -1;
}
