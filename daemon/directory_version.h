/*
 * Rollback protection across restarts and instances: the highest signed
 * directory version any relay on this Redis ran with is kept there.  A
 * relay that starts with an older directory (an old file put back)
 * refuses to go on; one that reloads to a version another instance
 * already surpassed says so loudly.
 */
#ifndef ALERTRELAY_DIRECTORY_VERSION_H
#define ALERTRELAY_DIRECTORY_VERSION_H

struct relay;

/* How long a relay behind gives back what it cannot decide on (a
 * check-in's recipient, a notification's recipient it does not know)
 * once no relay with the newer directory runs (alive.h: while one does,
 * with no bound), from the first give-back since, kept in Redis: one
 * lease, in which such a relay, restarting, takes it.  After that the
 * relay behind decides on its own directory: the newer relay may be
 * gone for good, or the newer directory rolled back. */
#define DIRECTORY_GIVEBACK_MAX_MS 15000

/* Records the running directory's version once Redis is reachable.
 * at_start: an older version than recorded stops the relay (exit 1). */
void directory_version_record(struct relay *relay, int at_start);
/* 1 when another relay of this Redis ran with a newer signed directory
 * (highest, as Redis holds it) than this relay runs: a device or
 * recipient it does not know may be one enrolled since, not one gone. */
int directory_version_behind(const struct relay *relay, long long highest);

#endif
