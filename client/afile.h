/*
 * alertctl's files: written whole or not at all (common/atomic_file.h),
 * so that a crash or a full disk never leaves half a key, half a bundle
 * or half a directory behind; directories made, files found and removed.
 */
#ifndef ALERTCTL_AFILE_H
#define ALERTCTL_AFILE_H

#include <sys/types.h>

#include <stddef.h>

enum afile_how {
	AFILE_CREATE, /* fail when the file exists */
	AFILE_REPLACE, /* replace it, atomically */
};

/* Writes len bytes as path with mode.  On failure nothing changed, err
 * says why and errno is kept (EEXIST for AFILE_CREATE on a file that
 * exists). */
int afile_write(const char *path, const void *data, size_t len, mode_t mode,
    enum afile_how how, char *err, size_t errlen);
/* A key as keyfile.h writes it, one line of base64; the text is wiped. */
int afile_write_b64(const char *path, const void *key, size_t len, mode_t mode,
    enum afile_how how, char *err, size_t errlen);
/* Creates dir and its missing parents with mode 0700; directories that
 * exist are left as they are. */
int afile_mkdirs(const char *dir, char *err, size_t errlen);
/* The directory part of path, "." when it has none (caller frees). */
char *afile_dirname(const char *path);
/* 1 when something (even a dangling link) is at path. */
int afile_exists(const char *path);
/* Removes path and syncs its directory, so that the removal outlives a
 * crash; 0, or -1 with errno (ENOENT is no error). */
int afile_remove(const char *path);
/* Where a file of alertctl's lives by default: the environment variable
 * env when set, else rel under the user's home ($HOME, or the password
 * entry's); NULL without a home (caller frees). */
char *afile_default_path(const char *env, const char *rel);

#endif
