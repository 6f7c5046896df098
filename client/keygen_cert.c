/* The relay's key and self-signed certificate (keygen_cert.h). */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "afile.h"
#include "alertctl.h"
#include "atomic_file.h"
#include "keygen_cert.h"
#include "log.h"
#include "out.h"
#include "tls.h"
#include "xmalloc.h"

static EVP_PKEY *
keygen_cert_key(const char *type)
{
	if (strcmp(type, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* subjectAltName from "relay.example.nl,10.0.0.1": IP: for addresses. */
static int
keygen_cert_san(X509 *x, const char *names)
{
	char *copy = xstrdup(names), *item, *save = NULL, *san = NULL, *s;
	unsigned char buf[16];
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	int ok;

	for (item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		ok = inet_pton(AF_INET, item, buf) == 1 ||
		    inet_pton(AF_INET6, item, buf) == 1;
		s = xasprintf("%s%s%s:%s", san ? san : "", san ? "," : "",
		    ok ? "IP" : "DNS", item);
		free(san);
		san = s;
	}
	free(copy);
	if (san == NULL)
		return -1;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	free(san);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *
keygen_cert_make(EVP_PKEY *key, const struct keygen_cert_opts *o)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn;
	char cn[65];
	const EVP_MD *md =
	    strcmp(o->type, "ed25519") == 0 ? NULL : EVP_sha256();

	if (x == NULL)
		return NULL;
	snprintf(cn, sizeof(cn), "%.*s", (int)strcspn(o->names, ","), o->names);
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
		BN_free(bn);
		goto fail;
	}
	BN_free(bn);
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), o->days * 86400L) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    keygen_cert_san(x, o->names) != 0 || X509_sign(x, key, md) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* The PEM text in b written whole as path, created new, never over a
 * file (atomic_file.h): a kill or a full disk never leaves a key file
 * cut short under its name, which the relay would not start on. */
static int
keygen_cert_publish(const char *path, BIO *b, mode_t mode)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	if (len <= 0) {
		log_warnx("%s: no PEM text to write", path);
		return -1;
	}
	if (atomic_file_write(path, data, (size_t)len, mode,
	        ATOMIC_FILE_CREATE) != 0) {
		log_warn("%s", path);
		return -1;
	}
	return 0;
}

/* Both files or neither. */
static int
keygen_cert_write(const char *keypath, const char *crtpath, EVP_PKEY *key,
    X509 *x)
{
	/* The key's text in memory that is wiped when freed. */
	BIO *kb = BIO_new(BIO_s_secmem()), *cb = BIO_new(BIO_s_mem());
	int rc = -1;

	if (kb == NULL || cb == NULL ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cb, x) != 1)
		log_warnx("cannot make the relay's key and certificate");
	else if (keygen_cert_publish(keypath, kb, 0600) == 0) {
		if (keygen_cert_publish(crtpath, cb, 0644) == 0)
			rc = 0;
		else
			(void)afile_remove(keypath);
	}
	BIO_free(kb);
	BIO_free(cb);
	return rc;
}

int
keygen_cert(const struct keygen_cert_opts *o)
{
	char *keypath = xasprintf("%s.key", o->prefix);
	char *crtpath = xasprintf("%s.crt", o->prefix);
	char pin[TLS_PIN_LEN];
	EVP_PKEY *key = keygen_cert_key(o->type);
	X509 *x = key ? keygen_cert_make(key, o) : NULL;
	int rc = EXIT_FAIL;

	if (x == NULL)
		log_warnx("cannot make the relay's key and certificate");
	else if (keygen_cert_write(keypath, crtpath, key, x) == 0 &&
	    tls_pin_of_cert(x, pin) == 0) {
		log_info("wrote %s (mode 0600) and %s, %s, for %s, valid %ld "
		         "days",
		    keypath, crtpath, o->type, o->names, o->days);
		/* the pin alone on stdout: "$(alertctl keygen relay-cert ...)"
		 */
		out_line("%s", pin);
		rc = EXIT_OK;
	}
	X509_free(x);
	EVP_PKEY_free(key);
	free(keypath);
	free(crtpath);
	return rc;
}
