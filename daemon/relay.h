/*
 * The daemon's shared state.  One instance lives in alertrelayd.c; the
 * modules reach the current configuration through it, so a reload that
 * swaps relay->cfg is seen everywhere at once.
 */
#ifndef ALERTRELAY_RELAY_H
#define ALERTRELAY_RELAY_H

#include <sys/queue.h>

#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "relay_config.h"

#define ALERTRELAY_VERSION "0.1.0"

/*
 * The loop's priorities.  A connection that has not authenticated yet
 * (its TLS handshake, its auth frame) runs below everything else (Redis,
 * deliveries, timers, authenticated devices; conn_priority.h), and the
 * loop spends at most RELAY_HANDSHAKE_SLICE_MS on such connections before
 * it looks at the others again: when thousands of devices reconnect at
 * once, an alert of a device already connected is not held up behind
 * their handshakes.
 * Priority 0 is the valve that keeps them from starving
 * (conn_priority.h).
 */
#define RELAY_PRIORITIES 3
#define RELAY_PRIO_DEFAULT 1
#define RELAY_PRIO_HANDSHAKE 2
#define RELAY_HANDSHAKE_SLICE_MS 5

struct conn;
struct listener;
struct store;
struct http_client;
struct dispatch;
struct admin;
struct ack;
struct escalate;
struct spool;
struct checkin;
struct supervise;
struct ratelimit;
struct conn_unauth;
struct strindex;
struct audit;
struct retention;
struct conn_priority;
struct conn_ingest;
struct stopjobs;
struct alive;

struct relay {
	struct event_base *base;
	struct relay_config *cfg;
	SSL_CTX *ssl_ctx;
	struct listener *listeners;
	struct store *store;
	struct http_client *http;
	struct dispatch *dispatch;
	struct admin *admin;
	struct ack *ack;
	struct escalate *escalate;
	struct spool *spool; /* NULL when no spool_dir */
	struct checkin *checkin; /* check-in timers (checkin.h) */
	struct supervise *supervise; /* supervised devices (supervise.h) */
	struct audit *audit; /* the audit log (audit.h) */
	struct retention *retention; /* the sweep (retention.h) */
	struct stopjobs *stopjobs; /* what a stop waits for (stopjobs.h) */
	struct alive *alive; /* this relay runs, said in Redis (alive.h) */
	TAILQ_HEAD(, conn) conns;
	/* alerts still being stored whose device is gone (conn_alert.c) */
	TAILQ_HEAD(, conn_ingest) ingests;
	size_t nconns;
	size_t nunauth; /* not yet authenticated */
	struct ratelimit *conn_limit; /* connections per source address */
	struct ratelimit *alert_limit; /* alerts per device */
	struct ratelimit *addr_alert_limit; /* alerts per source address */
	struct ratelimit *session_limit; /* authenticated sessions per device */
	struct conn_unauth *unauth; /* unauthenticated, by source */
	/* refusals logged and audited one by one, per device (conn_refuse.h) */
	struct ratelimit *refusal_said;
	struct conn_authfail *authfail; /* refused authentications, counted */
	struct strindex *by_device; /* authenticated, by device id */
	int stopping;
	int exit_code; /* of the process, once the loop ends */
	int version_checked; /* the directory version was checked at start */
	int worker; /* index among [relay] workers (workers.h); -1: none */
	struct conn_priority *priority; /* the handshakes' valve */
	struct conn_reap *reap; /* closed connections freed later */
	uint64_t hs_progress; /* handshakes and authentications done */
};

/* Reloads the configuration (SIGHUP, POST /reload): all or nothing; on
 * refusal err says why and the running configuration stays. */
int relay_reload(struct relay *relay, char *err, size_t errlen);

/* Stops the relay and makes it exit with status 1. */
void relay_fail(struct relay *relay);

#endif
