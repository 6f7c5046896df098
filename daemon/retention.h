/*
 * Retention by data class ([retention] in alertrelayd.conf(5)): the
 * periods start when an alert closes (acknowledged, cancelled or
 * expired; the scripts that close it set EXPIRE on its keys and note it
 * in P:retire:*), and a sweep on the event loop, every sweep_interval
 * seconds, removes what Redis cannot expire by itself: ciphertexts,
 * entries of the device lists, and stream entries (XTRIM MINID).  Each
 * sweep is one script bounded by RETENTION_BATCH per class, run
 * asynchronously, so the loop never waits for it; several instances on
 * one Redis may sweep at once, as every step is idempotent.
 */
#ifndef ALERTRELAY_RETENTION_H
#define ALERTRELAY_RETENTION_H

#define RETENTION_BATCH 100

struct relay;
struct retention;

struct retention *retention_new(struct relay *relay);
/* The configuration was loaded or reloaded: periods for the scripts. */
void retention_apply(struct retention *r);
void retention_free(struct retention *r);

#endif
