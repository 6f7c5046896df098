/*
 * What an enrolled device's refused requests may cost the relay.  A
 * device chooses how often it is refused, and a stolen or malicious one
 * may send a refused frame a million times a minute: unbounded, each
 * would be a log line and an audit record (the disk, journald and Redis
 * fill, real "alert accepted" lines get dropped).  So:
 *
 * - The first refusals of a device are logged and audited one by one,
 *   CONN_REFUSE_SAID_BURST at once, then CONN_REFUSE_SAID_PER_MIN a
 *   minute; the rest are counted by code and said in one line and one
 *   record ("refusals suppressed n=... CODE=..."), before the next
 *   refusal said one by one, when the connection ends, or when the
 *   relay stops.  The log and the audit log keep the true counts.
 *   Refusals that close the connection are always said one by one.
 * - A connection refused more than CONN_REFUSE_MAX times within
 *   CONN_REFUSE_WINDOW_S is closed with too_many_refusals, said in one
 *   line and one record with the counts.  Its device may connect again
 *   within [relay] device_conn_rate.
 * - A request that does nothing but is answered as asked, since an
 *   honest device repeats it after a lost answer (a cancel of an alert
 *   already cancelled: "cancelled"), is counted and said as a refusal
 *   (conn_refuse_count, conn_refuse_say), the first of each connection
 *   said whatever the budget: a device may repeat it at will.
 *
 * A device's own client never comes near: after it reconnects it sends
 * at most 64 alerts of its outbox and asks after at most 64 more
 * (OUTBOX_LIST_MAX), each refused at most once; the alert rate limit is
 * untouched, so alerts within it are accepted as before.
 */
#ifndef ALERTRELAY_CONN_REFUSE_H
#define ALERTRELAY_CONN_REFUSE_H

#include <stdint.h>

#include <jansson.h>

#include "codecount.h"

#define CONN_REFUSE_MAX 256 /* refusals per window; one more closes */
#define CONN_REFUSE_WINDOW_S 10
#define CONN_REFUSE_SAID_BURST 10 /* said one by one, per device */
#define CONN_REFUSE_SAID_PER_MIN 6
#define CONN_REFUSE_CODE "too_many_refusals"
#define CONN_REFUSE_MESSAGE                                                    \
	"too many refused requests on this connection; connect again later"

struct conn;
struct relay;

/* A connection's refusals (in struct conn). */
struct conn_refusals {
	int64_t window_ms; /* monotonic start of the window; 0: none yet */
	unsigned in_window;
	struct codecount unsaid; /* since the last line that said them */
	int closing; /* closed for refusing too often, and said */
	int repeat_said; /* a request that did nothing said (conn_refuse_say) */
};

/* From conn_error() for an authenticated device: logged and audited or
 * counted.  1 when the connection was refused too often: it is to be
 * closed now, answered CONN_REFUSE_CODE instead (said here). */
int conn_refuse_note(struct conn *c, const char *code, const char *message,
    int fatal);
/* Sends e, the error frame of a refusal that keeps the connection and is
 * the answer the request asked for (a check-in already active, a
 * location too soon): neither logged nor audited, but counted like any
 * towards closing a connection refused too often. */
void conn_refuse_send(struct conn *c, json_t *e);
/* A request that did nothing, answered as asked, counted towards
 * closing like a refusal: 1 when it is one too many (said here), the
 * connection to be closed, answered CONN_REFUSE_CODE instead. */
int conn_refuse_count(struct conn *c, const char *code);
/* 1 when such a request's line and record are to be written now (the
 * first of the connection, then within the device's budget; what was
 * counted said first); 0 when it is counted by code, said in the next
 * summary. */
int conn_refuse_say(struct conn *c, const char *code);
/* The connection ends: what was not said one by one is said now. */
void conn_refuse_end(struct conn *c);
/* The relay stops: the same for every connection, before the audit
 * log's last record. */
void conn_refuse_end_all(struct relay *relay);

#endif
