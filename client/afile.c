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
#include "b64.h"
#include "xmalloc.h"

static int
afile_write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The new name is only durable once the directory is synced too. */
static void
afile_sync_dir(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

/* The temporary file, written and synced; -1 with errno set. */
static int
afile_temp(char *tmp, const void *data, size_t len, mode_t mode)
{
	int fd, saved;

	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	/* mkostemp made it 0600: the final mode only once it is whole. */
	if (afile_write_all(fd, data, len) == -1 || fsync(fd) == -1 ||
	    fchmod(fd, mode) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int
afile_write(const char *path, const void *data, size_t len, mode_t mode,
    enum afile_how how, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir = afile_dirname(path), *tmp;
	int rc = -1, saved;

	tmp = xasprintf("%s/.%s.XXXXXX", dir, slash != NULL ? slash + 1 : path);
	if (afile_temp(tmp, data, len, mode) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* link() refuses an existing name where rename() would replace it:
	 * creating stays as atomic as replacing. */
	if (how == AFILE_REPLACE)
		rc = rename(tmp, path);
	else
		rc = link(tmp, path);
	saved = errno;
	if (rc == -1 || how == AFILE_CREATE)
		unlink(tmp);
	if (rc == -1 && saved == EEXIST)
		snprintf(err, errlen, "%s already exists; not overwriting it",
		    path);
	else if (rc == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
	else
		afile_sync_dir(dir);
out:
	free(tmp);
	free(dir);
	errno = saved;
	return rc;
}

int
afile_write_b64(const char *path, const void *key, size_t len, mode_t mode,
    enum afile_how how, char *err, size_t errlen)
{
	char *b64 = b64_encode(key, len);
	size_t n = strlen(b64);
	char *line = xmalloc(n + 2);
	int rc;

	memcpy(line, b64, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	rc = afile_write(path, line, n + 1, mode, how, err, errlen);
	sodium_memzero(b64, n);
	sodium_memzero(line, n + 1);
	free(b64);
	free(line);
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
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
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
	char *dir;

	if (unlink(path) != 0)
		return errno == ENOENT ? 0 : -1;
	dir = afile_dirname(path);
	afile_sync_dir(dir);
	free(dir);
	return 0;
}
