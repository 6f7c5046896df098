/*
 * A poller of due members of a Redis sorted set (check-in timers,
 * supervised devices): every period it asks a script for the members
 * due now, then hands them to the owner one at a time; the owner claims
 * each atomically in its own script and calls duepoll_next() when done
 * with it.  Nothing is kept between polls, so any instance may do it.
 */
#ifndef ALERTRELAY_DUEPOLL_H
#define ALERTRELAY_DUEPOLL_H

struct relay;
struct duepoll;

/* Called for each due member; the owner calls duepoll_next() after. */
typedef void (*duepoll_cb)(struct duepoll *p, const char *member, void *arg);

/* script: answers {"m":[members]} for {"set"?,"now_ms","count"}; set
 * is passed as "set" when not NULL. */
struct duepoll *duepoll_new(struct relay *relay, const char *script,
    const char *set, long period_ms, duepoll_cb cb, void *arg);
/* A member is the owner's from the callback until this call, and a
 * stop waits for it meanwhile (stopjobs.h). */
void duepoll_next(struct duepoll *p);
/* The relay stops: no poll and no member handed out from now on; the
 * one with the owner goes on.  What is due stays in Redis, where
 * another instance or the next start polls it. */
void duepoll_pause(struct duepoll *p);
void duepoll_free(struct duepoll *p);

#endif
