/*
 * Recipient and device keys for `alertctl receive`.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "hook_keys.h"
#include "keyfile.h"
#include "log.h"
#include "seckey.h"
#include "util.h"
#include "webhook_sig.h"
#include "xmalloc.h"

int
hook_keys_add(struct hook_keys *k, const char *path)
{
	char err[512];
	unsigned char *sk;

	if (k->nkeys == HOOK_MAX_KEYS) {
		log_warnx("--key: at most %d keys", HOOK_MAX_KEYS);
		return -1;
	}
	if ((sk = seckey_load(path, crypto_box_SECRETKEYBYTES, err,
	         sizeof(err))) == NULL) {
		log_warnx("--key %s", err);
		return -1;
	}
	/* The sealed box needs the public half too; derive it. */
	if (crypto_scalarmult_base(k->rpk[k->nkeys], sk) != 0) {
		log_warnx("--key %s: not a usable X25519 key", path);
		seckey_free(sk);
		return -1;
	}
	k->rsk[k->nkeys++] = sk;
	return 0;
}

/* Re-reads the directory when its file changed.  A replacement that
 * does not verify, or rolls back, is refused; the one in use stays. */
static void
hook_keys_refresh(struct hook_keys *k)
{
	struct directory next;
	struct stat st;
	char err[512];

	if (k->directory == NULL || stat(k->directory, &st) != 0 ||
	    (st.st_mtim.tv_sec == k->dir_mtime.tv_sec &&
	        st.st_mtim.tv_nsec == k->dir_mtime.tv_nsec))
		return;
	k->dir_mtime = st.st_mtim;
	if (directory_load(k->directory, k->org_pk, &next, err, sizeof(err)) !=
	    0) {
		log_warnx("REFUSED the new directory: %s", err);
		return;
	}
	if (directory_successor(&k->dir, &next, err, sizeof(err)) != 0) {
		log_warnx("REFUSED the new directory: %s", err);
		directory_free(&next);
		return;
	}
	if (next.version != k->dir.version)
		log_info("directory version %lld in use", next.version);
	directory_free(&k->dir);
	k->dir = next;
	k->loads++;
}

unsigned long
hook_keys_generation(struct hook_keys *k)
{
	hook_keys_refresh(k);
	return k->loads;
}

int
hook_keys_directory(struct hook_keys *k, const char *path, const char *org_key)
{
	struct stat st;
	char err[512];

	if (b64_decode_exact(org_key, k->org_pk, sizeof(k->org_pk)) != 0) {
		log_warnx("--org-key: not a base64 Ed25519 public key");
		return -1;
	}
	if (stat(path, &st) == 0)
		k->dir_mtime = st.st_mtim;
	if (directory_load(path, k->org_pk, &k->dir, err, sizeof(err)) != 0) {
		log_warnx("REFUSED the directory: %s", err);
		return -1;
	}
	k->directory = path;
	log_info("directory version %lld in use", k->dir.version);
	return 0;
}

void
hook_keys_clear(struct hook_keys *k)
{
	size_t i;

	for (i = 0; i < k->nkeys; i++)
		seckey_free(k->rsk[i]);
	if (k->directory != NULL)
		directory_free(&k->dir);
	memset(k, 0, sizeof(*k));
}

static size_t
hook_keys_from_dir(struct hook_keys *k, const char *device_id,
    const char *created_at,
    unsigned char pks[HOOK_MAX_DEVICE_KEYS][crypto_sign_PUBLICKEYBYTES])
{
	const struct dir_device *dev;
	time_t t;
	size_t i, n = 0;

	hook_keys_refresh(k);
	/* A revoked device's alerts accepted before still count: the
	 * relay delivers them, and they are signed. */
	if ((dev = directory_device(&k->dir, device_id)) == NULL)
		return 0;
	memcpy(pks[n++], dev->pk, crypto_sign_PUBLICKEYBYTES);
	if (time_rfc3339_parse(created_at, &t) != 0)
		return n;
	for (i = 0; i < dev->nretired && n < HOOK_MAX_DEVICE_KEYS; i++)
		if (t <= dev->retired[i].until)
			memcpy(pks[n++], dev->retired[i].pk,
			    crypto_sign_PUBLICKEYBYTES);
	return n;
}

size_t
hook_keys_device(struct hook_keys *k, const char *device_id,
    const char *created_at,
    unsigned char pks[HOOK_MAX_DEVICE_KEYS][crypto_sign_PUBLICKEYBYTES])
{
	char *path, err[512];
	int rc;

	if (k->directory != NULL)
		return hook_keys_from_dir(k, device_id, created_at, pks);
	path = xasprintf("%s/%s.pub", k->devices_dir, device_id);
	rc = keyfile_read(path, pks[0], crypto_sign_PUBLICKEYBYTES, 0, err,
	    sizeof(err));
	if (rc != 0)
		log_debug("%s", err);
	free(path);
	return rc == 0 ? 1 : 0;
}

int
hook_keys_revoked(struct hook_keys *k, const char *device_id)
{
	const struct dir_device *dev;

	if (k->directory == NULL)
		return 0; /* DEVICE.pub files say nothing of revocation */
	hook_keys_refresh(k);
	dev = directory_device(&k->dir, device_id);
	return dev != NULL && dev->revoked;
}

/* The webhook secret is a whsec_ string itself, or a file holding one;
 * it is kept in guarded memory, read-only. */
unsigned char *
hook_keys_secret(const char *arg, size_t *lenp)
{
	unsigned char *raw, *secret;
	char *text, err[512];
	size_t len;
	int rc;

	if (strncmp(arg, WHSEC_PREFIX, strlen(WHSEC_PREFIX)) == 0)
		text = xstrdup(arg);
	else if (keyfile_read_text(arg, 1, &text, err, sizeof(err)) != 0) {
		log_warnx("webhook secret %s", err);
		return NULL;
	}
	rc = whsec_decode(text, &raw, &len);
	sodium_memzero(text, strlen(text));
	free(text);
	if (rc != 0) {
		log_warnx("webhook secret: not a whsec_ secret of at least %d "
		          "bytes",
		    WHSEC_MIN_BYTES);
		return NULL;
	}
	secret = seckey_alloc(len);
	memcpy(secret, raw, len);
	*lenp = len;
	seckey_lock(secret);
	sodium_memzero(raw, len);
	free(raw);
	return secret;
}

/* The organisation's key is the base64 key itself, or a file holding
 * it (org.pub). */
int
hook_keys_org_directory(struct hook_keys *k, const char *path,
    const char *org_key)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char *text = NULL, err[512];
	int rc;

	if (b64_decode_exact(org_key, pk, sizeof(pk)) == 0)
		return hook_keys_directory(k, path, org_key);
	if (keyfile_read_text(org_key, 0, &text, err, sizeof(err)) != 0) {
		log_warnx("org key: neither a key nor a readable file: %s",
		    err);
		return -1;
	}
	rc = hook_keys_directory(k, path, text);
	free(text);
	return rc;
}
