/*
 * TLS 1.3 only, for both ends.  Clients do not use the web PKI: they pin
 * the relay's public key (SHA-256 of its SubjectPublicKeyInfo, base64,
 * the same form as HPKP's pin-sha256).
 */
#ifndef ALERTRELAY_TLS_H
#define ALERTRELAY_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLS_PIN_LEN 45 /* base64 of 32 bytes + NUL */

SSL_CTX *tls_server_ctx(const char *certfile, const char *keyfile, char *err,
    size_t errlen);
SSL_CTX *tls_client_ctx(char *err, size_t errlen);

int tls_pin_of_cert(X509 *cert, char pin[TLS_PIN_LEN]);
int tls_pin_of_file(const char *certfile, char pin[TLS_PIN_LEN]);
/* 1 when the peer's certificate matches one of the pins. */
int tls_peer_matches_pin(SSL *ssl, const char *const *pins, size_t npins);
/* Channel binding for device authentication. */
int tls_auth_binding(SSL *ssl, unsigned char out[32]);
/* The last OpenSSL error as text, for logs. */
const char *tls_error_string(void);

#endif
