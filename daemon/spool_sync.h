/*
 * The spool's group commit, off the event loop: one fdatasync() at a time
 * on a helper thread of the spool file's own, its result handed back to
 * the loop through a pipe that an event reads (libevent's threading is
 * not enabled in this build, so no event_active() from the thread).
 * spool_file.c decides what a sync covers and who waits for it.
 */
#ifndef ALERTRELAY_SPOOL_SYNC_H
#define ALERTRELAY_SPOOL_SYNC_H

#include <event2/event.h>

struct spool_sync;

/* From the loop, once the sync asked for returned: 0, or its errno. */
typedef void (*spool_sync_cb)(int err, void *arg);

/* NULL with a logged reason when its pipe cannot be made. */
struct spool_sync *spool_sync_new(struct event_base *base, const char *path,
    spool_sync_cb cb, void *arg);
/* fdatasync(fd) on the thread; one at a time: not while one runs. */
void spool_sync_start(struct spool_sync *s, int fd);
/* 1 from spool_sync_start() to its callback. */
int spool_sync_running(const struct spool_sync *s);
/* Waits for the sync under way, if any, and stops the thread: its
 * callback is not called; returned, its result (0 when none ran). */
int spool_sync_close(struct spool_sync *s);

#endif
