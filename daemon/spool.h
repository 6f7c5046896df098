/*
 * The local spool: when Redis cannot take an alert (down, refusing it,
 * or not answering in time), the alert is appended to a file in
 * spool_dir (spool_file.h) and fsynced before the device hears
 * "accepted".  Its first tier is delivered directly from memory, and
 * every spooled alert is moved into Redis (with what was already
 * delivered) once Redis takes it, tried again on a backoff whether or not
 * the connection drops; only then do its escalation timers run.  One
 * Redis refuses for good (another alert with its id) is kept, and said.
 * After a crash the file is read again.
 */
#ifndef ALERTRELAY_SPOOL_H
#define ALERTRELAY_SPOOL_H

#include <stddef.h>

#include <jansson.h>

struct relay;
struct spool;
struct ingest_reply;

/* NULL with a logged reason when the spool cannot be used. */
struct spool *spool_open(struct relay *relay, const char *dir);
void spool_close(struct spool *sp);

/* Makes the alert (the ingest script's arguments) durable here; 0 with
 * out filled in, or -1 when even that failed. */
int spool_accept(struct spool *sp, json_t *args, struct ingest_reply *out);
/* Redis is (re)connected: move what the spool holds into it now. */
void spool_resume(struct spool *sp);
/* 1 when alert_id waits in the spool: resends are answered from here,
 * or Redis would get a second copy before the spool moves the first. */
int spool_holds(const struct spool *sp, const char *alert_id);
/* Alerts not yet in Redis. */
size_t spool_pending(const struct spool *sp);

#endif
