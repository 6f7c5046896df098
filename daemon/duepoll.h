/*
 * A poller of due members of a Redis sorted set (check-in timers,
 * supervised devices): every period it asks a script for the members
 * due now, then hands them to the owner one at a time; the owner claims
 * each atomically in its own script and calls duepoll_next() when done
 * with it.  Nothing is kept between polls, so any instance may do it.
 */
#ifndef ALERTRELAY_DUEPOLL_H
#define ALERTRELAY_DUEPOLL_H

#include <jansson.h>

struct relay;
struct duepoll;

/* Called for each due member; the owner calls duepoll_next() after. */
typedef void (*duepoll_cb)(struct duepoll *p, const char *member, void *arg);
/* The members the owner wants left out of the next poll (those it gave
 * back a moment ago), as a new JSON array, or NULL for none. */
typedef json_t *(*duepoll_skip_cb)(void *arg);

/* script: answers {"m":[members]} for {"set","now_ms","count","skip"?}
 * (script_due); skip may be NULL. */
struct duepoll *duepoll_new(struct relay *relay, const char *script,
    const char *set, long period_ms, duepoll_cb cb, duepoll_skip_cb skip,
    void *arg);
/* A member is the owner's from the callback until this call, and a
 * stop waits for it meanwhile (stopjobs.h). */
void duepoll_next(struct duepoll *p);
/* The relay stops: no poll and no member handed out from now on; the
 * one with the owner goes on.  What is due stays in Redis, where
 * another instance or the next start polls it. */
void duepoll_pause(struct duepoll *p);
void duepoll_free(struct duepoll *p);

#endif
