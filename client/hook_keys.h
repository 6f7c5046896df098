/*
 * The keys `alertctl receive` opens and checks alerts with: one or more
 * recipient secret keys (the current one and, after a rotation, earlier
 * ones, so what was sealed to them still opens), and the devices' signing
 * keys, from a directory of DEVICE.pub files or from the organisation's
 * signed directory (re-read when the file changes; a forged or older one
 * is refused and the one in use stays).
 */
#ifndef ALERTCTL_HOOK_KEYS_H
#define ALERTCTL_HOOK_KEYS_H

#include <sys/stat.h>

#include <sodium.h>

#include "directory.h"

#define HOOK_MAX_KEYS 8
/* A device's current key and its retired ones. */
#define HOOK_MAX_DEVICE_KEYS (1 + DIRECTORY_MAX_RETIRED)

struct hook_keys {
	unsigned char *rsk[HOOK_MAX_KEYS]; /* X25519 secrets, guarded */
	unsigned char rpk[HOOK_MAX_KEYS][crypto_box_PUBLICKEYBYTES];
	size_t nkeys;
	const char *devices_dir; /* DIR/<device_id>.pub, or NULL */
	const char *directory; /* signed directory file, or NULL */
	unsigned char org_pk[crypto_sign_PUBLICKEYBYTES];
	struct directory dir; /* verified, when directory is set */
	struct timespec dir_mtime;
	unsigned long loads; /* directories taken into use so far */
};

/* Adds a recipient secret key file; -1 (logged) when unusable. */
int hook_keys_add(struct hook_keys *k, const char *path);
/* Loads the signed directory; -1 (logged) when it does not verify. */
int hook_keys_directory(struct hook_keys *k, const char *path,
    const char *org_key);
void hook_keys_clear(struct hook_keys *k);
/* hook_keys_directory() with the organisation's key given as base64
 * text or as a file holding it. */
int hook_keys_org_directory(struct hook_keys *k, const char *path,
    const char *org_key);
/* The webhook secret (a whsec_ string, or a file holding one) in
 * guarded read-only memory (seckey_free() it); NULL (logged) when
 * unusable. */
unsigned char *hook_keys_secret(const char *arg, size_t *lenp);

/* The device's signing keys that may have signed an alert created at
 * created_at; how many were put in pks. */
size_t hook_keys_device(struct hook_keys *k, const char *device_id,
    const char *created_at,
    unsigned char pks[HOOK_MAX_DEVICE_KEYS][crypto_sign_PUBLICKEYBYTES]);
/* Re-reads the directory when its file changed (as every lookup of a
 * key does); a number that changes whenever the keys in use may have,
 * for a caller that keeps verdicts made with them. */
unsigned long hook_keys_generation(struct hook_keys *k);
/* 1 when the signed directory (as it is now) lists the device as
 * revoked: lost or stolen, so what it sends may be someone else's. */
int hook_keys_revoked(struct hook_keys *k, const char *device_id);

#endif
