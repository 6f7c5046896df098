/*
 * The dispatcher's insides, shared by dispatch.c (reading the stream,
 * taking over another instance's deliveries, the lifecycle) and
 * delivery.c (one delivery, from reading its alert to recording how it
 * ended).  Nothing outside these two files uses it.
 */
#ifndef ALERTRELAY_DISPATCH_INT_H
#define ALERTRELAY_DISPATCH_INT_H

#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include "dispatch.h"
#include "dispatch_fresh.h"
#include "store.h"
#include "sms_report.h"
#include "strindex.h"
#include "webhook.h"

#define RESTART_MS 1000 /* after Redis failed a read or a lookup */

enum delivery_state {
	D_FETCH, /* reading what the alert's notification needs */
	D_SEND, /* request in flight, or waiting to retry it */
	D_DONE, /* went through; recording that in Redis */
	D_FAIL, /* given up; dead letter (and next tier at once) */
	D_DROP, /* no longer needed or impossible; removing it */
};

struct delivery {
	TAILQ_ENTRY(delivery) entry;
	struct strlink by_stream; /* in d->by_stream, keyed e.stream_id */
	struct dispatch *d;
	struct delivery_entry e;
	enum delivery_state state;
	int attempt;
	char webhook_id[WEBHOOK_ID_LEN];
	json_t *meta; /* the alert, as script_meta gave it */
	char *body; /* webhook body, the same on every attempt */
	size_t bodylen;
	char reason[256]; /* last failure, for the dead letter */
	int unreached; /* failed max_attempts times; retried while open */
	int queued; /* the SMS gateway keeps it for later: not sent again */
	char report[SMS_REPORT_QUERY_MAX]; /* its reports' query, or "" */
	int retrying; /* failed once: counted in d->nretry, not for reading */
	struct event *timer;
	struct store_req *sreq;
	struct http_req *hreq;
	json_t *local_meta; /* from the spool, not Redis */
	json_t *fresh_meta; /* first attempt: from memory (dispatch_fresh.h) */
	int parked; /* read before the ingest's answer (dispatch_fresh.h) */
	dispatch_local_cb local_done;
	void *local_arg;
	int64_t stage_ns; /* the current stage's start (stage_metrics.h) */
};

struct dispatch {
	struct relay *relay;
	int running;
	int draining; /* shutting down: nothing new */
	void (*drained)(void *); /* called once nothing is in flight */
	void *drained_arg;
	struct event *claim_ev; /* keep-alive and takeover */
	struct store_req *claim_req;
	char from[STORE_ID_MAX]; /* pending-history cursor; "" when live */
	struct store_req *read_req;
	struct event *restart_ev;
	TAILQ_HEAD(, delivery) deliveries;
	struct strindex *by_stream; /* the same, by stream entry id */
	size_t ninflight; /* every delivery held, nretry of them retrying */
	size_t nretry;
	char claim_from[STORE_ID_MAX]; /* XAUTOCLAIM's cursor */
	int claim_pages; /* XAUTOCLAIM calls this round */
	struct fresh_alerts *fresh; /* accepted here a moment ago */
	struct event *fresh_ev; /* expires them */
};

/* A new delivery in flight, indexed; the caller steps it. */
struct delivery *delivery_new(struct dispatch *d,
    const struct delivery_entry *e);
void delivery_step(struct delivery *dl);
void delivery_free(struct delivery *dl);
void delivery_drop(struct delivery *dl, const char *why);
void dispatch_read(struct dispatch *d);
void dispatch_check_drained(struct dispatch *d);

#endif
