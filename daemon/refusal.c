/*
 * Counting and rate-limited logging of refused connections (refusal.h).
 */
#include <stdint.h>

#include "log.h"
#include "metrics.h"
#include "refusal.h"
#include "util.h"

struct refusal_log {
	int64_t last_ms; /* 0: never logged */
	uint64_t unlogged; /* refused since the last line */
};

static struct refusal_log logs[LISTENER_NKINDS][CONN_REFUSE_NREASONS];

void
refusal_note(enum listener_kind kind, enum conn_refuse why, const char *detail)
{
	struct refusal_log *l = &logs[kind][why];
	int64_t now = monotonic_ms();

	metrics.conn_refused[kind][why]++;
	l->unlogged++;
	if (l->last_ms != 0 && now - l->last_ms < REFUSAL_LOG_INTERVAL * 1000)
		return;
	log_warnx("connections refused: listener=%s reason=%s count=%llu%s%s "
	          "(one line per %d s at most)",
	    metrics_listener_name(kind), metrics_conn_refuse_name(why),
	    (unsigned long long)l->unlogged, detail ? " " : "",
	    detail ? detail : "", REFUSAL_LOG_INTERVAL);
	l->unlogged = 0;
	l->last_ms = now;
}
