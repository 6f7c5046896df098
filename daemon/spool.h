/*
 * The local spool: when Redis cannot take an alert (down, refusing it,
 * or not answering in time), the alert is appended to a file in
 * spool_dir (spool_file.h) and fsynced before the device hears
 * "accepted": the sync runs off the loop, for many alerts at once, and
 * the device's answer waits for it.  Its first tier is delivered directly from
 * memory, and every spooled alert is moved into Redis (with what was already
 * delivered) once Redis takes it, tried again on a backoff whether or not
 * the connection drops; only then do its escalation timers run.  One
 * Redis refuses for good (another alert with its id) is kept, and said.
 * After a crash the file is read again.
 */
#ifndef ALERTRELAY_SPOOL_H
#define ALERTRELAY_SPOOL_H

#include <sys/queue.h>

#include <stddef.h>

#include <jansson.h>

struct relay;
struct spool;
struct spool_alert;
struct ingest_reply;

/* The answer for a device: out filled in, or NULL when the spool could
 * not make the alert durable. */
typedef void (*spool_accepted_cb)(const struct ingest_reply *out, void *arg);

/* A device's wait for its alert's sync; the caller's memory, linked into
 * the spool while it waits. */
struct spool_wait {
	TAILQ_ENTRY(spool_wait) entry;
	struct spool_alert *alert; /* NULL: not waiting */
	int result; /* enum ingest_result, once durable */
	spool_accepted_cb cb;
	void *arg;
};

/* NULL with a logged reason when the spool cannot be used. */
struct spool *spool_open(struct relay *relay, const char *dir);
/* After the loop: a sync under way ends first (spool_file_close()). */
void spool_close(struct spool *sp);

/* Makes the alert (the ingest script's arguments) durable here: 1 with
 * out filled in when it already is; 0 when w waits for its sync (cb then,
 * from the loop, unless spool_accept_cancel() came first); -1 when even
 * its write failed. */
int spool_accept(struct spool *sp, json_t *args, struct ingest_reply *out,
    struct spool_wait *w, spool_accepted_cb cb, void *arg);
/* The device is gone: w is not answered (its alert stays). */
void spool_accept_cancel(struct spool_wait *w);
/* Redis is (re)connected: move what the spool holds into it now. */
void spool_resume(struct spool *sp);
/* 1 when alert_id waits in the spool: resends are answered from here,
 * or Redis would get a second copy before the spool moves the first. */
int spool_holds(const struct spool *sp, const char *alert_id);
/* Alerts not yet in Redis. */
size_t spool_pending(const struct spool *sp);

#endif
