/*
 * The limits of one HTTP listener under http_guard.h: alertrelayd's
 * [ack] and [admin], alertconsole's listeners, `alertctl receive`.
 */
#ifndef ALERTRELAY_HTTP_LIMITS_H
#define ALERTRELAY_HTTP_LIMITS_H

struct http_limits {
	long max_conns; /* open at once, before the descriptor budget */
	long max_per_addr; /* open at once from one source address */
	long conn_rate, conn_burst; /* new connections per address, per s */
	long request_timeout; /* seconds from accept to a whole request */
	/* At max_conns a newcomer closes a connection whose request is not
	 * yet whole (or already answered), of the source holding the most,
	 * oldest first, rather than waiting in the backlog: for a listener
	 * whose one important client (the relay's webhooks) must get in
	 * however many places an attacker holds.  0: the newcomer waits. */
	int evict;
};

#endif
