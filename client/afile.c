/* Files of alertctl's (afile.h): written whole, made, found, removed. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "afile.h"
#include "atomic_file.h"
#include "b64.h"
#include "xmalloc.h"

/* What the write's result says, into err; errno kept. */
static int
afile_said(int rc, const char *path, char *err, size_t errlen)
{
	int saved = errno;

	if (rc == -1 && saved == EEXIST)
		snprintf(err, errlen, "%s already exists; not overwriting it",
		    path);
	else if (rc == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
	errno = saved;
	return rc;
}

static enum atomic_file_how
afile_how(enum afile_how how)
{
	return how == AFILE_REPLACE ? ATOMIC_FILE_REPLACE : ATOMIC_FILE_CREATE;
}

int
afile_write(const char *path, const void *data, size_t len, mode_t mode,
    enum afile_how how, char *err, size_t errlen)
{
	return afile_said(atomic_file_write(path, data, len, mode,
	                      afile_how(how)),
	    path, err, errlen);
}

int
afile_write_b64(const char *path, const void *key, size_t len, mode_t mode,
    enum afile_how how, char *err, size_t errlen)
{
	char *b64 = b64_encode(key, len);
	int rc;

	rc = afile_said(atomic_file_write_line(path, b64, mode, afile_how(how)),
	    path, err, errlen);
	sodium_memzero(b64, strlen(b64));
	free(b64);
	return rc;
}

int
afile_mkdirs(const char *dir, char *err, size_t errlen)
{
	char *copy = xstrdup(dir), *p = copy, c;
	struct stat st;
	int rc = 0;

	do {
		p += strspn(p, "/");
		p += strcspn(p, "/");
		c = *p;
		*p = '\0';
		if (mkdir(copy, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", copy, strerror(errno));
			rc = -1;
		}
		*p = c;
	} while (rc == 0 && c != '\0');
	if (rc == 0 && (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))) {
		snprintf(err, errlen, "%s: not a directory", dir);
		rc = -1;
	}
	free(copy);
	return rc;
}

char *
afile_dirname(const char *path)
{
	return atomic_file_dirname(path);
}

int
afile_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *
afile_default_path(const char *env, const char *rel)
{
	const char *set = getenv(env), *home = getenv("HOME");
	struct passwd *pw;

	if (set != NULL && *set != '\0')
		return xstrdup(set);
	if ((home == NULL || *home == '\0') &&
	    (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL || *home == '\0')
		return NULL;
	return xasprintf("%s/%s", home, rel);
}

int
afile_remove(const char *path)
{
	if (unlink(path) != 0)
		return errno == ENOENT ? 0 : -1;
	(void)atomic_file_sync_dir(path);
	return 0;
}
