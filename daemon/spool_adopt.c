/*
 * Taking over the spool files of workers a restart no longer runs
 * (spool_adopt.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "spool_adopt.h"
#include "spool_record.h"
#include "xmalloc.h"

#define SPOOL_ADOPT_PREFIX "spool.log."

/* A file larger than this is not kept in memory while it is taken over
 * (spool_adopt_file): kept, a start's peak would be about twice the file
 * (the copy and the records), and a large leftover under a tight
 * MemoryMax= could keep the relay from starting.  64 MiB is some 10^5
 * alerts, far more than an outage spools; nothing else bounds a spool
 * file's size.  Not static, so that gdb can lower it (tests). */
size_t spool_adopt_keep_max = (size_t)64 << 20;

/* A line of the old file as read, until a sync of ours covers it. */
struct spool_adopt_kept {
	char *line;
	size_t len;
	int torn;
};

struct spool_adopt {
	struct spool_file *into;
	spool_file_line_cb cb;
	void *arg;
	size_t taken;
	int failed; /* a record could not be appended */
	int keep; /* the file's lines are kept as read (spool_adopt_keep_max) */
	struct spool_adopt_kept *kept; /* every line of the file being read */
	size_t nkept, capkept;
};

/* The worker whose file name is, or -1 (another file, spool.log.1.new). */
static long
spool_adopt_worker(const char *name)
{
	const char *digits = name + strlen(SPOOL_ADOPT_PREFIX);
	char *end;
	long i;

	if (strncmp(name, SPOOL_ADOPT_PREFIX, strlen(SPOOL_ADOPT_PREFIX)) !=
	        0 ||
	    *digits < '0' || *digits > '9')
		return -1;
	errno = 0;
	i = strtol(digits, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : i;
}

/* Kept as read, for cb once the sync covers it (spool_adopt_file): for
 * no more than a file's takeover, as memory holds its records after. */
static void
spool_adopt_keep(struct spool_adopt *ad, const char *line, size_t len, int torn)
{
	struct spool_adopt_kept *k;

	if (ad->nkept == ad->capkept) {
		ad->capkept = ad->capkept > 0 ? ad->capkept * 2 : 64;
		ad->kept =
		    xreallocarray(ad->kept, ad->capkept, sizeof(*ad->kept));
	}
	k = &ad->kept[ad->nkept++];
	k->line = xmalloc(len > 0 ? len : 1);
	memcpy(k->line, line, len);
	k->len = len;
	k->torn = torn;
}

/* The kept lines to cb (hand 1) or only dropped (0). */
static void
spool_adopt_release(struct spool_adopt *ad, int hand)
{
	size_t i;

	for (i = 0; i < ad->nkept; i++) {
		if (hand)
			ad->cb(ad->kept[i].line, ad->kept[i].len,
			    ad->kept[i].torn, ad->arg);
		free(ad->kept[i].line);
	}
	ad->nkept = 0;
}

/* One line of the old file into ours, and kept; into memory (cb) only
 * once a sync of ours covers it (spool_adopt_file). */
static void
spool_adopt_line(const char *line, size_t len, int torn, void *arg)
{
	struct spool_adopt *ad = arg;
	struct spool_record rec;
	json_t *o;

	if (ad->keep)
		spool_adopt_keep(ad, line, len, torn);
	if (!torn && spool_record_parse(line, len, &rec) == 0) {
		spool_record_clear(&rec);
		o = json_loadb(line, len, 0, NULL);
		if (o == NULL || spool_file_put(ad->into, o) != 0)
			ad->failed = 1;
		else
			ad->taken++;
	}
}

/* Locked: no running worker or relay appends to it (spool_file.h). */
static int
spool_adopt_lock(const char *path)
{
	int created,
	    fd = spool_file_open_locked(path, O_RDONLY | O_CLOEXEC, &created);

	if (fd == -1 && errno == EWOULDBLOCK)
		log_warnx("spool %s: locked by a running process (another "
		          "relay using this spool_dir?); left alone",
		    path);
	else if (fd == -1 && errno != ENOENT)
		log_warn("spool %s: locking it to take it over", path);
	return fd;
}

/*
 * The records are appended unsynced and synced once, before the old file
 * goes: until that sync they are all still in the old file, which a crash
 * leaves to the next start (a second copy is ignored, a torn line
 * skipped), so one sync keeps the guarantee one a record gave.  They
 * count (into memory: a resend answered "accepted" at once, a first tier
 * sent, a move into Redis, marks and compactions of ours) only once that
 * sync returned: the old file was never synced here, and what its worker
 * wrote before it was killed, unanswered, may be in the page cache only.
 * A file not taken whole counts for nothing until the next start: what
 * of it went into ours, unsynced (or after a failed sync, not known to be
 * on disk), is cut off again, so that no later sync makes it count.
 * Once the sync returned, every line goes to memory from the one read
 * that was appended (kept): the file is not read again, since a second
 * read that failed would leave records in ours, synced, that memory
 * lacks until the next start (and a compaction would drop them there).
 * A file larger than spool_adopt_keep_max is read again instead, so
 * that its copy is not held in memory besides its records; if that
 * read fails the relay exits at once, before anything (a compaction)
 * can act on a memory that lacks synced records: the restart
 * (systemd's, or the master's for a worker) reads them from ours and
 * takes the old file, still there, over again (the second copy of each
 * record ignored).
 */
static void
spool_adopt_file(struct spool_adopt *ad, const char *path)
{
	struct stat sb;
	int fd;

	if ((fd = spool_adopt_lock(path)) == -1)
		return;
	ad->taken = 0;
	ad->failed = 0;
	ad->keep = fstat(fd, &sb) == 0 && sb.st_size >= 0 &&
	    (uintmax_t)sb.st_size <= spool_adopt_keep_max;
	if (spool_file_read(path, spool_adopt_line, ad) < 0 || ad->failed ||
	    (ad->taken > 0 && spool_file_sync(ad->into) != 0)) {
		spool_file_unput(ad->into);
		spool_adopt_release(ad, 0);
		log_errorx("spool %s: of a worker that no longer runs, and not "
		           "taken over whole; it stays for the next start",
		    path);
		close(fd);
		return;
	}
	if (ad->keep)
		spool_adopt_release(ad, 1);
	else if (spool_file_read(path, ad->cb, ad->arg) < 0)
		log_fatalx("spool %s: of a worker that no longer runs, copied "
		           "into ours and synced but not read again; exiting "
		           "so that a restart reads its records (the file "
		           "stays, to be taken over again)",
		    path);
	if (unlink(path) != 0) {
		log_warn("spool %s: removing it once taken over", path);
		close(fd);
		return;
	}
	close(fd);
	spool_file_sync_dir(path);
	if (ad->taken > 0)
		log_warnx("spool %s: %zu records of a worker that no longer "
		          "runs taken over",
		    path, ad->taken);
}

void
spool_adopt(const char *dir, long nworkers, struct spool_file *into,
    spool_file_line_cb cb, void *arg)
{
	struct spool_adopt ad = {into, cb, arg, 0, 0, 0, NULL, 0, 0};
	struct dirent *de;
	DIR *d;
	char *path;

	if ((d = opendir(dir)) == NULL) {
		log_warn("spool %s: looking for files of other workers", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (spool_adopt_worker(de->d_name) <
		    (nworkers > 1 ? nworkers : 1))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		spool_adopt_file(&ad, path);
		free(path);
	}
	closedir(d);
	free(ad.kept);
}
