/*
 * alertctl keygen relay-cert PREFIX: the relay's TLS key and a
 * self-signed certificate (OpenSSL), PREFIX.key (PEM, mode 0600) and
 * PREFIX.crt, and prints the pin devices and the contact point are
 * given.  Trust is the pin, never a CA, so self-signed is what it needs.
 */
#ifndef ALERTCTL_KEYGEN_CERT_H
#define ALERTCTL_KEYGEN_CERT_H

struct keygen_cert_opts {
	const char *prefix;
	const char *type; /* "p256" (default) or "ed25519" */
	const char *names; /* comma-separated DNS names or IP addresses */
	long days;
};

#define KEYGEN_CERT_DAYS_DEFAULT 825
#define KEYGEN_CERT_DAYS_MAX 3650

int keygen_cert(const struct keygen_cert_opts *o);

#endif
