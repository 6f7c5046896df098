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

/* Records the running directory's version once Redis is reachable.
 * at_start: an older version than recorded stops the relay (exit 1). */
void directory_version_record(struct relay *relay, int at_start);

#endif
