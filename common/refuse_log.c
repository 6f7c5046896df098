/*
 * The names of the refusal reasons and their budgeted log line
 * (refuse_log.h).
 */
#include "refuse_log.h"
#include "i18n.h"
#include "log.h"
#include "util.h"

static const char *const conn_refuse_names[CONN_REFUSE_NREASONS] =
    {"max_connections", "max_connections_per_address", "rate_limited",
        "request_timeout", "no_descriptors", "request_too_large"};

const char *
refuse_log_reason(enum conn_refuse why)
{
	return conn_refuse_names[why];
}

void
refuse_log_note(struct refuse_log *l, const char *listener,
    enum conn_refuse why, const char *detail)
{
	int64_t now = monotonic_ms();

	l->unlogged++;
	if (l->last_ms != 0 && now - l->last_ms < REFUSAL_LOG_INTERVAL * 1000)
		return;
	/* Translated only where a person reads it (alertctl receive): the
	 * daemons never choose a locale, so they log the msgid. */
	log_warnx(_("connections refused: listener=%s reason=%s count=%llu%s%s "
	            "(one line per %d s at most)"),
	    listener, conn_refuse_names[why], l->unlogged, detail ? " " : "",
	    detail ? detail : "", REFUSAL_LOG_INTERVAL);
	l->unlogged = 0;
	l->last_ms = now;
}
