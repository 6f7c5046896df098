/*
 * Files written whole, crash-safely (atomic_file.h): beside their name,
 * synced, then given the name and the directory synced.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "i18n.h"
#include "log.h"
#include "xmalloc.h"

char *
atomic_file_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
atomic_file_sync_dir(const char *path)
{
	char *dir = atomic_file_dirname(path);
	int fd, rc = -1, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		rc = fsync(fd);
		saved = errno;
		close(fd);
		errno = saved;
	}
	free(dir);
	return rc == 0 ? 0 : -1;
}

int
atomic_file_begin(struct atomic_file *af, const char *path, const char *tmp,
    int flags)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int saved;

	memset(af, 0, sizeof(*af));
	af->path = path;
	if (tmp != NULL) {
		af->tmp = xstrdup(tmp);
		(void)unlink(af->tmp);
		af->fd = open(af->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | flags, 0600);
	} else {
		dir = atomic_file_dirname(path);
		af->tmp = xasprintf("%s/.%s.XXXXXX", dir,
		    slash != NULL ? slash + 1 : path);
		free(dir);
		af->fd = mkostemp(af->tmp, O_CLOEXEC | flags);
	}
	if (af->fd == -1) {
		saved = errno;
		free(af->tmp);
		af->tmp = NULL;
		errno = saved;
		return -1;
	}
	return 0;
}

int
atomic_file_put(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * link() refuses a name that is taken where rename() would replace it,
 * so creating is as safe as replacing.  A file system without hard links
 * (vfat says EPERM) gets renameat2's RENAME_NOREPLACE, which never
 * replaces either; one with neither is told as ENOTSUP rather than
 * written in place, which a crash could leave cut short.
 */
static int
atomic_file_link(struct atomic_file *af)
{
	if (link(af->tmp, af->path) == 0) {
		/* Before the directory's sync: no leftover after a crash. */
		(void)unlink(af->tmp);
		af->moved = 1;
		return 0;
	}
	if (errno != EPERM && errno != ENOTSUP && errno != ENOSYS)
		return -1;
	if (renameat2(AT_FDCWD, af->tmp, AT_FDCWD, af->path,
	        RENAME_NOREPLACE) == 0) {
		af->moved = 1;
		return 0;
	}
	if (errno == EINVAL || errno == ENOSYS)
		errno = ENOTSUP;
	return -1;
}

int
atomic_file_commit(struct atomic_file *af, mode_t mode,
    enum atomic_file_how how)
{
	/* mkostemp made it 0600: the final mode only once it is whole, and
	 * exactly that mode, whatever the umask. */
	if (fchmod(af->fd, mode) == -1 || fsync(af->fd) == -1)
		return -1;
	if (how == ATOMIC_FILE_REPLACE) {
		if (rename(af->tmp, af->path) == -1)
			return -1;
		af->moved = 1;
	} else if (atomic_file_link(af) == -1)
		return -1;
	return atomic_file_sync_dir(af->path) == 0 ? 0 : ATOMIC_FILE_UNSYNCED;
}

void
atomic_file_end(struct atomic_file *af)
{
	int saved = errno;

	if (af->fd != -1)
		close(af->fd);
	if (af->tmp != NULL && !af->moved)
		(void)unlink(af->tmp);
	free(af->tmp);
	af->tmp = NULL;
	af->fd = -1;
	errno = saved;
}

/* data, and a newline after it when line is set, written whole. */
static int
atomic_file_write_text(const char *path, const void *data, size_t len, int line,
    mode_t mode, enum atomic_file_how how)
{
	struct atomic_file af;
	int rc;

	if (atomic_file_begin(&af, path, NULL, 0) == -1)
		return -1;
	rc = atomic_file_put(af.fd, data, len) == -1 ||
	        (line && atomic_file_put(af.fd, "\n", 1) == -1)
	    ? -1
	    : atomic_file_commit(&af, mode, how);
	/* The file is whole under its name: taking it for a failure would
	 * leave it there all the same, and a caller that makes files in
	 * pairs (keygen's .key and .pub) would stop halfway. */
	if (rc == ATOMIC_FILE_UNSYNCED) {
		log_warn(_("%s is written, but its directory could not be "
		           "synced: a crash may still lose it"),
		    path);
		rc = 0;
	}
	atomic_file_end(&af);
	return rc;
}

int
atomic_file_write(const char *path, const void *data, size_t len, mode_t mode,
    enum atomic_file_how how)
{
	return atomic_file_write_text(path, data, len, 0, mode, how);
}

int
atomic_file_write_line(const char *path, const char *text, mode_t mode,
    enum atomic_file_how how)
{
	return atomic_file_write_text(path, text, strlen(text), 1, mode, how);
}
