/*
 * Key files: one line of base64 text.  Secret key files are created with
 * mode 0600 and refused when their mode lets group or others read them.
 */
#ifndef ALERTRELAY_KEYFILE_H
#define ALERTRELAY_KEYFILE_H

#include <stddef.h>

#define KEYFILE_MAX 4096 /* longest key file we read */
#define WHSEC_PREFIX "whsec_"
#define WHSEC_MIN_BYTES 24

/* Refuses to overwrite an existing file. */
int keyfile_write_text(const char *path, const char *text, int secret,
    char *err, size_t errlen);
int keyfile_write(const char *path, const void *key, size_t len, int secret,
    char *err, size_t errlen);

/* A whole regular file of at most max bytes, NUL-terminated (caller
 * frees; wipe it first when secret).  secret: refused unless only its
 * owner can read it. */
char *keyfile_slurp(const char *path, size_t max, int secret, size_t *len,
    char *err, size_t errlen);

/* Reads the one line of text (trailing newline removed) into *text; a
 * second line or a NUL in it is refused. */
int keyfile_read_text(const char *path, int secret, char **text, char *err,
    size_t errlen);
/* Reads and decodes exactly len bytes. */
int keyfile_read(const char *path, void *key, size_t len, int secret, char *err,
    size_t errlen);

/* A *_file value as a path: "cred:NAME" is the systemd credential NAME
 * (LoadCredential=NAME:FILE), found in $CREDENTIALS_DIRECTORY; a relative
 * path is relative to dir (the configuration's directory).  NULL with err
 * set when it names no credential.  The caller frees. */
#define KEYFILE_CRED "cred:"
char *keyfile_path(const char *dir, const char *value, char *err,
    size_t errlen);

/* A public key given as itself (base64) or as a file holding it (a
 * path, relative to dir when dir is not NULL, or "cred:NAME"), as
 * --org-key and org_key take the organisation's key: 0, or -1 with err
 * set. */
int keyfile_pubkey(const char *dir, const char *value, void *key, size_t len,
    char *err, size_t errlen);

/* "whsec_<base64>" (Standard Webhooks) into raw key bytes. */
int whsec_decode(const char *text, unsigned char **key, size_t *len);
/* New random secret in whsec_ form (caller frees). */
char *whsec_generate(void);

#endif
