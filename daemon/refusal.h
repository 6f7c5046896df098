/*
 * Connections a listener turns away: counted for /metrics by listener
 * and reason, and logged at most once per interval for each pair, with
 * the number turned away since the last line.  An attacker who makes a
 * listener refuse a million connections gets a few log lines, not a
 * million (a log that fills the disk is itself a denial of service).
 */
#ifndef ALERTRELAY_REFUSAL_H
#define ALERTRELAY_REFUSAL_H

#include "refuse_log.h"
#include "http_guard.h"
#include "metrics.h"

/* Counts one refusal; logs it when the interval has passed.  detail
 * (may be NULL) says which limit, e.g. "limit=24". */
void refusal_note(enum listener_kind kind, enum conn_refuse why,
    const char *detail);
/* The hooks of an HTTP listener's guard: kind's share of the
 * descriptors (fdbudget.h), its refusals through refusal_note. */
void refusal_hooks(enum listener_kind kind, struct http_guard_hooks *hooks);

#endif
