/*
 * Why a listener turns a connection away, and the log of it that an
 * attacker cannot inflate: at most one line per listener and reason per
 * interval, with the number turned away since the last line (a log that
 * fills the disk is itself a denial of service).  alertrelayd counts the
 * same reasons for /metrics (daemon/refusal.h); alertconsole and
 * `alertctl receive` only log them.
 */
#ifndef ALERTRELAY_REFUSE_LOG_H
#define ALERTRELAY_REFUSE_LOG_H

#include <stdint.h>

/* Seconds between two log lines about one listener and one reason. */
#define REFUSAL_LOG_INTERVAL 10

enum conn_refuse {
	CONN_REFUSE_MAX_CONNECTIONS,
	CONN_REFUSE_PER_ADDRESS,
	CONN_REFUSE_RATE_LIMITED,
	CONN_REFUSE_DEADLINE,
	CONN_REFUSE_NO_DESCRIPTORS,
	CONN_REFUSE_TOO_LARGE, /* more unparsed input than a request */
	CONN_REFUSE_NREASONS
};

/* One listener's log of one reason; zeroed: nothing logged yet. */
struct refuse_log {
	int64_t last_ms; /* 0: never logged */
	unsigned long long unlogged; /* refused since the last line */
};

/* "max_connections", ...: the name in logs and metrics. */
const char *refuse_log_reason(enum conn_refuse why);
/* Counts one refusal in l; logs it, naming listener, when the interval
 * has passed.  detail (may be NULL) says which limit, e.g. "limit=24". */
void refuse_log_note(struct refuse_log *l, const char *listener,
    enum conn_refuse why, const char *detail);

#endif
