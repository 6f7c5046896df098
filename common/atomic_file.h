/*
 * Files written whole or not at all.  The data goes to a file beside the
 * final name (same directory, so the same file system), is synced, and
 * only then takes the name: by link(), which never replaces a file, or
 * by rename(), which replaces one in a single step.  Then the directory
 * is synced, so that the name outlives a crash too.  A crash or a full
 * disk never leaves a file cut short under its name: a reader sees the
 * old file or the new one, or none.
 */
#ifndef ALERTRELAY_ATOMIC_FILE_H
#define ALERTRELAY_ATOMIC_FILE_H

#include <sys/types.h>

#include <stddef.h>

enum atomic_file_how {
	ATOMIC_FILE_CREATE, /* fail with EEXIST when the name is taken */
	ATOMIC_FILE_REPLACE, /* replace what is there, in one step */
};

/* atomic_file_commit(): the file has its name, but its directory could
 * not be synced (errno says why): a crash may still lose the name. */
#define ATOMIC_FILE_UNSYNCED 1

struct atomic_file {
	const char *path; /* the final name (not copied) */
	char *tmp; /* the name it is written under until then */
	int fd; /* open for writing, mode 0600 */
	int moved; /* tmp is no longer there */
};

/*
 * Opens the file beside path.  tmp NULL: a random name (mkostemp), so a
 * crash's leftover never stands in the way (it stays there, though);
 * else that name, a leftover of it removed first: for callers whose
 * leftovers must not pile up.  flags: O_APPEND may be added.  0, or -1
 * with errno.
 */
int atomic_file_begin(struct atomic_file *af, const char *path, const char *tmp,
    int flags);
/* Writes all of data to fd (af->fd, or any file): 0, or -1 with errno
 * (ENOSPC when nothing more could be written) and part of it perhaps
 * written. */
int atomic_file_put(int fd, const void *data, size_t len);
/*
 * Gives it mode exactly, syncs it and gives it its name, then syncs the
 * directory.  ATOMIC_FILE_CREATE where the file system has no hard links
 * (vfat: EPERM) uses renameat2(RENAME_NOREPLACE), as safe; ENOTSUP when
 * it has neither.  0; ATOMIC_FILE_UNSYNCED; or -1 with errno, and the
 * name is untouched.  af->fd stays open: take it, or atomic_file_end()
 * closes it.
 */
int atomic_file_commit(struct atomic_file *af, mode_t mode,
    enum atomic_file_how how);
/* Closes af->fd unless taken (set to -1), removes tmp unless it took the
 * name; errno is kept. */
void atomic_file_end(struct atomic_file *af);

/* The whole of data as path, with mode: 0, or -1 with errno (EEXIST
 * for ATOMIC_FILE_CREATE on a name that is taken) and nothing changed.
 * A directory that could not be synced is a warning, logged: the file
 * is there, whole, and counts as written. */
int atomic_file_write(const char *path, const void *data, size_t len,
    mode_t mode, enum atomic_file_how how);
/* One line: text and a newline after it (the key files' form). */
int atomic_file_write_line(const char *path, const char *text, mode_t mode,
    enum atomic_file_how how);

/* Syncs the directory that holds path, after a name in it was made,
 * changed or removed: 0, or -1 with errno. */
int atomic_file_sync_dir(const char *path);
/* The directory part of path, "." when it has none (caller frees). */
char *atomic_file_dirname(const char *path);

#endif
