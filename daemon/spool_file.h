/*
 * The spool's file (spool_dir/spool.log): one JSON record a line
 * (spool_record.h), each appended whole and fdatasynced before anything
 * depends on it.  Lines are written on the event loop; their fdatasync
 * runs on a thread (spool_sync.h), one at a time, each covering every
 * line written before it started (group commit): a caller is told its
 * line counts only once such a sync returned.  The file never ends inside a
 * line that the next record could be glued to (both would be skipped at the
 * next start): a write that fails part way is cut off again before anything
 * else is appended, and a torn last line found at start, which was never
 * acknowledged, is cut off there.  The file is locked (flock) from its opening
 * to the relay's end, through every replacement: one process at a time uses it,
 * and another relay pointed at the same spool_dir refuses to start
 * rather than read, append to or take over a live file.  spool.c
 * decides what the records say.
 */
#ifndef ALERTRELAY_SPOOL_FILE_H
#define ALERTRELAY_SPOOL_FILE_H

#include <sys/types.h>

#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

struct spool_file;

/* Each line the file holds at start, whole with its newline; or torn:
 * the last one, without it, cut off the file after this call. */
typedef void (
    *spool_file_line_cb)(const char *line, size_t len, int torn, void *arg);

/* The lines of path to cb, as spool_file_open() gives them; the length
 * the whole ones cover, 0 when there is no such file, or -1 (logged) when
 * it could not be read to its end. */
off_t spool_file_read(const char *path, spool_file_line_cb cb, void *arg);
/* Brings a creation, rename or removal in path's directory to disk. */
void spool_file_sync_dir(const char *path);

/* path opened with flags (O_CREAT: created if need be, *created said)
 * and locked for as long as the descriptor stays open; or -1 with errno,
 * EWOULDBLOCK when another process holds it. */
int spool_file_open_locked(const char *path, int flags, int *created);

/* Opens path, creating it (and syncing its directory then); NULL with a logged
 * reason on failure.  Its syncs report to base's loop. */
struct spool_file *spool_file_open(struct event_base *base, const char *path,
    spool_file_line_cb cb, void *arg);
/* After the loop (it blocks): waits for the sync under way and syncs
 * what is left; callers still waiting are not told. */
void spool_file_close(struct spool_file *f);

/* ok 1: the line is on disk; 0: the sync failed, and the line was cut
 * off the file with every one not yet synced. */
typedef void (*spool_file_synced_cb)(int ok, void *arg);
/* Appends rec (taken over) as one line now, and starts a sync unless one
 * runs: cb from the loop once a sync that covers it returned (never from
 * within this call); a NULL cb waits for nothing (the line rides along).
 * -1 when it could not be written, with the file as it was before (cb is
 * never called). */
int spool_file_append(struct spool_file *f, json_t *rec,
    spool_file_synced_cb cb, void *arg);
/* At start only, before the loop runs (spool_adopt.c): rec (taken over)
 * as one line, not yet synced: many of them, then one spool_file_sync(),
 * on the loop, which they count only after. */
int spool_file_put(struct spool_file *f, json_t *rec);
int spool_file_sync(struct spool_file *f);
/* What was written since the last sync that returned 0 is cut off
 * again (a failed sync; a takeover that failed: not one of those lines
 * counts). */
void spool_file_unput(struct spool_file *f);
/* 1 when no sync runs, none is due and no caller waits: only then may the
 * file be truncated or replaced. */
int spool_file_idle(const struct spool_file *f);
/* cb(arg) each time a sync's end leaves the file idle. */
void spool_file_on_idle(struct spool_file *f, void (*cb)(void *), void *arg);
/* Empties the file (idle only): nothing in it is needed any more. */
int spool_file_truncate(struct spool_file *f);
/* Replaces the whole file with the records of recs (an array, taken
 * over), by a rename (idle only): a crash leaves the old file or the new
 * one. */
int spool_file_replace(struct spool_file *f, json_t *recs);
/* Bytes in the file. */
size_t spool_file_size(const struct spool_file *f);

#endif
