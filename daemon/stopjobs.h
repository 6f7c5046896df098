/*
 * The jobs a stop waits for before the audit log closes: an alert being
 * stored (conn_alert.c), a device's cancel (conn_cancel.c) or check-in
 * request (checkin_reply.c), a location update, a supervision's end or
 * deadline (supervise_conn.c), an acknowledgement (ack.c) and the timer
 * being taken up (escalate.c, duepoll.c), each logged and, but for the
 * location and supervision, audited when Redis's answer comes, which
 * with [redis] min_replicas includes WAIT's.  Their connections may be
 * gone; what the master did is recorded all the same.  The wait is
 * bounded by STOPJOBS_WAIT_MS (and shutdown_timeout); what is still
 * pending then is ended at exit, its outcome unknown.
 */
#ifndef ALERTRELAY_STOPJOBS_H
#define ALERTRELAY_STOPJOBS_H

/* A few seconds at most: the stop must never hang on a replica. */
#define STOPJOBS_WAIT_MS 3000

struct relay;
struct stopjobs;

struct stopjobs *stopjobs_new(struct relay *relay);
void stopjobs_free(struct stopjobs *s);
/* A job starts, a job has its answer (or was ended); NULL: nothing. */
void stopjobs_begin(struct stopjobs *s);
void stopjobs_end(struct stopjobs *s);
/* The relay stops: done(arg) once no job is pending, or after
 * STOPJOBS_WAIT_MS, saying how many are left. */
void stopjobs_drain(struct stopjobs *s, void (*done)(void *), void *arg);
/* shutdown_timeout came first: the loop ends now, and the jobs ended
 * after it (at exit) call nothing. */
void stopjobs_abandon(struct stopjobs *s);

#endif
