/*
 * Connections a listener turns away: counted for /metrics by listener
 * and reason, and logged at most once per interval for each pair, with
 * the number turned away since the last line.  An attacker who makes a
 * listener refuse a million connections gets a few log lines, not a
 * million (a log that fills the disk is itself a denial of service).
 */
#ifndef ALERTRELAY_REFUSAL_H
#define ALERTRELAY_REFUSAL_H

#include "metrics.h"

/* Seconds between two log lines about one listener and one reason. */
#define REFUSAL_LOG_INTERVAL 10

/* Counts one refusal; logs it when the interval has passed.  detail
 * (may be NULL) says which limit, e.g. "limit=24". */
void refusal_note(enum listener_kind kind, enum conn_refuse why,
    const char *detail);

#endif
