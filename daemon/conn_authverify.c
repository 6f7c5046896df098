/*
 * A device's auth signature, verified with the same work for an
 * enrolled id and an unknown one (conn_authverify.h).
 */
#include "conn_authverify.h"
#include "conn_int.h"

/*
 * The key an unknown id is checked against: a real point, so that its
 * verification does all the work an enrolled device's does (an all-zero
 * key is refused before any, and the answer's time would tell the id is
 * unknown).  Its secret half is thrown away at once.
 */
static const unsigned char *
conn_authverify_dummy_key(void)
{
	static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	static int made;
	unsigned char seed[crypto_sign_SEEDBYTES] = {0};
	unsigned char *sk;

	if (made)
		return pk;
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		log_fatalx("conn: out of secure memory");
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_free(sk);
	made = 1;
	return pk;
}

int
conn_authverify(struct conn *c, const char *sig, const struct device_entry *dev)
{
	unsigned char raw[crypto_sign_BYTES], binding[AUTH_BINDING_BYTES];
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	const unsigned char *pk = conn_authverify_dummy_key();
	int rc;

	if (dev != NULL)
		pk = dev->sign_pk;
	if (sig == NULL || b64_decode_exact(sig, raw, sizeof(raw)) ||
	    tls_auth_binding(ssl, binding) != 0)
		return -1;
	rc = auth_verify(c->challenge, binding, raw, pk);
	return dev != NULL ? rc : -1;
}
