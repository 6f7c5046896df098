/*
 * The spool's file (spool_file.h): appended whole lines, synced in
 * groups off the loop, replaced by a rename, and locked for as long as
 * its relay runs.
 */
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "log.h"
#include "metrics.h"
#include "spool_file.h"
#include "spool_sync.h"
#include "xmalloc.h"

/* A record's caller, told once a sync that covers its line returned. */
struct spool_file_wait {
	TAILQ_ENTRY(spool_file_wait) entry;
	off_t end; /* of its line */
	spool_file_synced_cb cb;
	void *arg;
};
TAILQ_HEAD(spool_file_waits, spool_file_wait);

struct spool_file {
	char *path;
	int fd;
	off_t size; /* to the end of the last whole line */
	off_t durable; /* what the last sync that returned covers */
	off_t syncing; /* what the sync under way covers */
	int dirty; /* written (or truncated) since the last sync started */
	int cut; /* a failed write may have left bytes past size */
	struct spool_sync *sync;
	struct spool_file_waits waits; /* in the order of their lines */
	void (*idle_cb)(void *);
	void *idle_arg;
};

static void
spool_file_set_size(struct spool_file *f, off_t size)
{
	f->size = size;
	metrics.spool_bytes = (uint64_t)size;
}

/* rec (taken over) as one line with its newline, or NULL (no memory). */
static char *
spool_file_line(json_t *rec, size_t *len)
{
	char *line = json_dumps(rec, JSON_COMPACT);

	json_decref(rec);
	if (line == NULL)
		return NULL;
	*len = strlen(line);
	line[(*len)++] = '\n'; /* json_dumps leaves room: len + 1 bytes */
	return line;
}

/* Back to the end of the last whole line.  Until that works nothing is
 * appended: a record after half a line would be glued to it. */
static int
spool_file_cut(struct spool_file *f)
{
	if (ftruncate(f->fd, f->size) != 0) {
		log_warn("spool %s: cutting off a failed write", f->path);
		f->cut = 1;
		return -1;
	}
	f->cut = 0;
	return 0;
}

/* Written, not yet synced: spool_file_sync() makes it count. */
int
spool_file_put(struct spool_file *f, json_t *rec)
{
	size_t len;
	char *line = spool_file_line(rec, &len);
	int rc = -1;

	if (line == NULL)
		log_warnx("spool %s: out of memory", f->path);
	else if (f->cut && spool_file_cut(f) != 0)
		;
	else if (atomic_file_put(f->fd, line, len) != 0) {
		/* Not on disk, so not accepted: it must not be there at the
		 * next start either, whole or in part. */
		log_warn("spool %s: writing", f->path);
		spool_file_cut(f);
	} else {
		spool_file_set_size(f, f->size + (off_t)len);
		f->dirty = 1;
		rc = 0;
	}
	free(line);
	return rc;
}

/* On the loop, before it runs (spool_adopt.c): never beside a sync of
 * the thread's. */
int
spool_file_sync(struct spool_file *f)
{
	if (fdatasync(f->fd) != 0) {
		log_warn("spool %s: syncing", f->path);
		return -1;
	}
	f->durable = f->size;
	f->dirty = 0;
	return 0;
}

/* Back to what the last good sync covers (a failed sync, a failed
 * takeover).  The cut need not reach the disk: lines a crash brings
 * back were answered nothing, or are second copies of records a failed
 * takeover left in their old file. */
void
spool_file_unput(struct spool_file *f)
{
	spool_file_set_size(f, f->durable);
	spool_file_cut(f);
	f->dirty = 0;
}

/* The next group: everything written so far, unless a sync runs (what
 * is written meanwhile waits for the one after it). */
static void
spool_file_kick(struct spool_file *f)
{
	if (!f->dirty || spool_sync_running(f->sync))
		return;
	f->dirty = 0;
	f->syncing = f->size;
	spool_sync_start(f->sync, f->fd);
}

int
spool_file_idle(const struct spool_file *f)
{
	return !f->dirty && !spool_sync_running(f->sync) &&
	    TAILQ_EMPTY(&f->waits);
}

/*
 * Not known to be on disk (after a failed fdatasync the kernel may have
 * dropped the pages it could not write, and a later sync would not say
 * so): every line since the last good sync is cut off, as if never
 * written, and none of their callers is told it is there, those written
 * during the failed sync included.
 */
static void
spool_file_sync_failed(struct spool_file *f, int err)
{
	struct spool_file_waits failed = TAILQ_HEAD_INITIALIZER(failed);
	struct spool_file_wait *w;

	errno = err;
	log_warn("spool %s: syncing", f->path);
	spool_file_unput(f);
	/* Apart first: a caller may append again, after the cut. */
	TAILQ_CONCAT(&failed, &f->waits, entry);
	while ((w = TAILQ_FIRST(&failed)) != NULL) {
		TAILQ_REMOVE(&failed, w, entry);
		w->cb(0, w->arg);
		free(w);
	}
}

/* The thread's sync returned: the lines it covers count now. */
static void
spool_file_synced(int err, void *arg)
{
	struct spool_file *f = arg;
	struct spool_file_wait *w;

	if (err != 0)
		spool_file_sync_failed(f, err);
	else {
		f->durable = f->syncing;
		/* One at a time: a callback may append, or end the wait of
		 * another record's caller with its own. */
		while ((w = TAILQ_FIRST(&f->waits)) != NULL &&
		    w->end <= f->durable) {
			TAILQ_REMOVE(&f->waits, w, entry);
			w->cb(1, w->arg);
			free(w);
		}
	}
	spool_file_kick(f);
	if (spool_file_idle(f) && f->idle_cb != NULL)
		f->idle_cb(f->idle_arg);
}

int
spool_file_append(struct spool_file *f, json_t *rec, spool_file_synced_cb cb,
    void *arg)
{
	struct spool_file_wait *w;

	if (spool_file_put(f, rec) != 0)
		return -1;
	if (cb != NULL) {
		w = xcalloc(1, sizeof(*w));
		w->end = f->size;
		w->cb = cb;
		w->arg = arg;
		TAILQ_INSERT_TAIL(&f->waits, w, entry);
	}
	spool_file_kick(f);
	return 0;
}

void
spool_file_on_idle(struct spool_file *f, void (*cb)(void *), void *arg)
{
	f->idle_cb = cb;
	f->idle_arg = arg;
}

/* Only idle (spool.c compacts then): no sync of the thread's runs, no
 * caller waits for a line that goes.  Its own sync is one of the
 * thread's, that nobody waits for: nothing in the file is needed, and
 * should a crash bring the old lines back, they say the same (every
 * alert in Redis). */
int
spool_file_truncate(struct spool_file *f)
{
	if (ftruncate(f->fd, 0) != 0) {
		log_warn("spool %s: truncating", f->path);
		return -1;
	}
	f->cut = 0;
	spool_file_set_size(f, 0);
	f->durable = 0;
	f->dirty = 1;
	spool_file_kick(f);
	return 0;
}

/* After a file is created, renamed or removed it is its directory that
 * must reach the disk, or a crash can lose the name with the records. */
void
spool_file_sync_dir(const char *path)
{
	if (atomic_file_sync_dir(path) != 0)
		log_warn("spool %s: syncing its directory", path);
}

/* The records into the new file af, locked before it has its name (the
 * file never goes unlocked); their length, or -1. */
static off_t
spool_file_write_new(struct atomic_file *af, json_t *recs)
{
	off_t size = 0;
	size_t i, len;
	char *line;

	if (flock(af->fd, LOCK_EX | LOCK_NB) != 0)
		return -1;
	for (i = 0; i < json_array_size(recs); i++) {
		line =
		    spool_file_line(json_incref(json_array_get(recs, i)), &len);
		if (line == NULL || atomic_file_put(af->fd, line, len) != 0) {
			free(line);
			return -1;
		}
		free(line);
		size += (off_t)len;
	}
	return size;
}

/*
 * Only idle, as truncating.  It stays on the loop, with its syncs of the
 * new file and of the directory: it runs only once every alert is in
 * Redis and some are held (refused for good: an operator must look),
 * not once per alert.
 */
int
spool_file_replace(struct spool_file *f, json_t *recs)
{
	char *tmp = xasprintf("%s.new", f->path);
	struct atomic_file af;
	off_t size = -1;
	int rc = -1;

	/* Named after its file, not at random: a crash's leftover is
	 * removed by the next replacement instead of piling up. */
	if (atomic_file_begin(&af, f->path, tmp, O_APPEND) == 0 &&
	    (size = spool_file_write_new(&af, recs)) != -1)
		rc = atomic_file_commit(&af, 0600, ATOMIC_FILE_REPLACE);
	if (rc == -1)
		log_warn("spool %s: writing its replacement", f->path);
	else if (rc == ATOMIC_FILE_UNSYNCED)
		log_warn("spool %s: syncing its directory", f->path);
	json_decref(recs);
	free(tmp);
	if (rc == -1) {
		atomic_file_end(&af);
		return -1;
	}
	close(f->fd);
	f->fd = af.fd;
	af.fd = -1;
	atomic_file_end(&af);
	f->cut = 0;
	spool_file_set_size(f, size);
	f->durable = size;
	return 0;
}

size_t
spool_file_size(const struct spool_file *f)
{
	return (size_t)f->size;
}

/* The lines, to cb; returns the length the whole ones cover, or -1
 * (logged) when the file could not be read to its end: what was not read
 * is then not known to be torn, and must not be cut off.  A last line
 * without its newline was cut short by a crash while it was written,
 * before its record counted (fdatasync comes after the newline). */
off_t
spool_file_read(const char *path, spool_file_line_cb cb, void *arg)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t whole = 0;
	int bad;

	if (fp == NULL) {
		if (errno == ENOENT)
			return 0;
		log_warn("spool %s", path);
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		cb(line, (size_t)n, line[n - 1] != '\n', arg);
		if (line[n - 1] == '\n')
			whole += n;
	}
	if ((bad = ferror(fp)) != 0)
		log_warnx("spool %s: cannot be read to its end", path);
	free(line);
	fclose(fp);
	return bad ? -1 : whole;
}

/* fd (of path) for as long as it stays open, or -1 with errno.  Taken
 * on a file that its owner's compaction renamed away meanwhile, the lock
 * would guard nothing: path is then opened again. */
static int
spool_file_lock(const char *path, int fd)
{
	struct stat held, named;

	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &held) != 0)
		return -1;
	if (stat(path, &named) != 0)
		return errno == ENOENT ? 1 : -1;
	return held.st_dev == named.st_dev && held.st_ino == named.st_ino ? 0
	                                                                  : 1;
}

int
spool_file_open_locked(const char *path, int flags, int *created)
{
	int fd, rc, tries;

	for (tries = 0; tries < 8; tries++) {
		*created = 0;
		fd = -1;
		if (flags & O_CREAT) {
			fd = open(path, flags | O_EXCL, 0600);
			*created = fd != -1;
		}
		if (fd == -1 && (!(flags & O_CREAT) || errno == EEXIST))
			fd = open(path, flags & ~O_CREAT);
		if (fd == -1)
			return -1;
		if ((rc = spool_file_lock(path, fd)) == 0)
			return fd;
		close(fd);
		if (rc < 0)
			return -1;
	}
	errno = EWOULDBLOCK; /* replaced each time: in use all the same */
	return -1;
}

/* Why the file cannot be used: an error message naming it. */
static void
spool_file_refused(const char *path)
{
	if (errno == EWOULDBLOCK)
		log_errorx("spool %s: locked by another running process: "
		           "another alertrelayd (or worker) uses this file; "
		           "one relay per spool_dir (alertrelayd.conf(5))",
		    path);
	else
		log_warn("spool %s", path);
}

struct spool_file *
spool_file_open(struct event_base *base, const char *path,
    spool_file_line_cb cb, void *arg)
{
	struct spool_file *f = xcalloc(1, sizeof(*f));
	struct stat st;
	off_t whole;
	int created;

	f->path = xstrdup(path);
	f->fd = -1;
	TAILQ_INIT(&f->waits);
	if ((f->sync = spool_sync_new(base, path, spool_file_synced, f)) ==
	    NULL) {
		spool_file_close(f);
		return NULL;
	}
	f->fd = spool_file_open_locked(path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, &created);
	if (f->fd == -1) {
		spool_file_refused(path);
		spool_file_close(f);
		return NULL;
	}
	/* On the loop: at start, before any connection is taken. */
	if (created)
		spool_file_sync_dir(path);
	/* What a process killed before its sync returned wrote may be in
	 * the page cache only: on disk before any of it counts (a resend
	 * of such an alert is answered "accepted" at once). */
	if (fdatasync(f->fd) != 0) {
		log_warn("spool %s", path);
		spool_file_close(f);
		return NULL;
	}
	/* Read only once locked: a file in use is no one else's to read. */
	if ((whole = spool_file_read(path, cb, arg)) < 0 ||
	    fstat(f->fd, &st) != 0) {
		if (whole >= 0)
			log_warn("spool %s", path);
		spool_file_close(f);
		return NULL;
	}
	spool_file_set_size(f, st.st_size < whole ? st.st_size : whole);
	/* The torn line goes now, or the next record would join it. */
	if (st.st_size > whole && spool_file_cut(f) == 0 &&
	    fdatasync(f->fd) != 0)
		log_warn("spool %s", path);
	f->durable = f->size;
	return f;
}

/*
 * At the end: the sync under way finishes (what it covers may have been
 * answered by nobody yet, but reaches the disk), then one more covers
 * what was written since, marks nobody waits for included.  The callers
 * still waiting are not told: the loop has stopped, and their devices
 * send the alert again (the file keeps it for the next start).
 */
void
spool_file_close(struct spool_file *f)
{
	struct spool_file_wait *w;
	int err;

	if (f == NULL)
		return;
	if ((err = spool_sync_close(f->sync)) != 0) {
		errno = err;
		log_warn("spool %s: syncing", f->path);
	}
	if (f->fd != -1 && (f->dirty || err != 0) && fdatasync(f->fd) != 0)
		log_warn("spool %s: syncing", f->path);
	while ((w = TAILQ_FIRST(&f->waits)) != NULL) {
		TAILQ_REMOVE(&f->waits, w, entry);
		free(w);
	}
	if (f->fd != -1)
		close(f->fd);
	free(f->path);
	free(f);
}
