/*
 * What the files of one device connection share (conn.c: its life,
 * authentication and framing; conn_alert.c: storing an alert and holding
 * its receipts until "accepted"; conn_request.c: status, list and
 * directory requests; conn_cancel.c: a cancel, checkin_conn.c: a
 * check-in, location_conn.c: a location update and supervise_conn.c: a
 * supervision's end, which outlive the connection, as an alert being
 * stored does (conn_job.c: who sent them); conn_refuse.c: what its refusals
 * may cost).
 * Private to them: the rest of the relay uses conn.h.
 */
#ifndef ALERTRELAY_CONN_INT_H
#define ALERTRELAY_CONN_INT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <sodium.h>

#include "b64.h"
#include "conn.h"
#include "conn_dirframe.h"
#include "conn_flow.h"
#include "conn_refuse.h"
#include "envelope.h"
#include "frame.h"
#include "ingest.h"
#include "evtimer_ms.h"
#include "log.h"
#include "log_budget.h"
#include "metrics.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "relay.h"
#include "relay_directory.h"
#include "slotcount.h"
#include "stage_metrics.h"
#include "store.h"
#include "store_scripts.h"
#include "supervise.h"
#include "checkin.h"
#include "strindex.h"
#include "tls.h"
#include "xmalloc.h"

enum conn_state {
	CONN_HANDSHAKE, /* TLS handshake under way */
	CONN_AUTH, /* hello sent, waiting for auth */
	CONN_READY, /* authenticated: alerts accepted */
	CONN_CLOSING, /* error sent; closing once it is out */
	CONN_RETIRED, /* closed by its peer; freed soon (conn_reap.h) */
};

struct unauth_source;
struct conn_job;

#define CONN_CANCEL_SKIPS 4 /* cancels whose channel copy is awaited */

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct relay *relay;
	struct bufferevent *bev;
	enum conn_state state;
	unsigned long long id;
	char peer[INET6_ADDRSTRLEN + 8];
	unsigned char source[NETADDR_SOURCE_MAX]; /* for the limits */
	size_t source_len;
	unsigned char challenge[AUTH_CHALLENGE_BYTES];
	char device_id[ID_MAX + 1];
	struct strlink by_device; /* in relay->by_device once ready */
	unsigned char auth_pk[crypto_sign_PUBLICKEYBYTES]; /* key it proved */
	struct event *timer; /* auth, frame or linger deadline */
	struct event *keepalive; /* pings an idle device, drops a dead one */
	int64_t last_rx_ms;
	struct conn_ingest *ingest; /* an alert being stored (conn_alert.c) */
	struct store_req *req; /* status, list: they write nothing */
	char req_type[16];
	char req_alert_id[33];
	/* a cancel, check-in, location update or supervision's end under
	 * way, which goes on without c */
	struct conn_job *job;
	/* Alerts this session cancelled whose "cancelled" receipt went
	 * (or goes) out with the answer: the receipts channel's copy of
	 * each is skipped once.  The channel's timing would otherwise
	 * decide whether the device saw it before closing, and a duress
	 * cancel must look like a real one on the wire, record for record
	 * (conn_request.c).  A cancel answered without a receipt takes its
	 * entry back. */
	char cancel_skip[CONN_CANCEL_SKIPS][33];
	char ingest_alert_id[33];
	int64_t stage_ns; /* the current stage's start (stage_metrics.h) */
	json_t *held; /* receipts of the alert being stored, until accepted */
	int shut; /* closing: our side of the session is shut down */
	/* Until it authenticated: among its source's (conn_unauth.h). */
	TAILQ_ENTRY(conn) unauth_entry;
	struct unauth_source *unauth_src; /* NULL once authenticated */
	int raised; /* by the valve before it authenticated */
	struct conn_flow flow; /* bounds what it makes us queue */
	struct supervise_link *sup; /* from its first "supervise", or NULL */
	struct conn_refusals refused; /* its refusals (conn_refuse.h) */
};

/* conn.c */
/* Frees c now; a connection its peer closed goes by conn_reap.h. */
void conn_free(struct conn *c);
void conn_send(struct conn *c, json_t *msg);
/* An audit record of what the connection's device did: about the alert
 * being stored, if any, else about the device. */
void conn_audit(struct conn *c, const char *action, const char *result,
    const char *reason);
void conn_error(struct conn *c, const char *code, const char *message,
    int fatal);
void conn_process(struct conn *c);

/* conn_job.c: who sent a request that outlives its connection, kept
 * in the request's own struct (conn_ingest, conn_cancel, checkin_job,
 * supervise_seen), or alone (a location update, a supervision's end). */
struct conn_job {
	struct relay *relay;
	struct conn *c; /* NULL once its connection is gone */
	char peer[INET6_ADDRSTRLEN + 8]; /* for the records, copied */
	char device_id[ID_MAX + 1];
	char id[33]; /* the alert or check-in it is about, or "" */
};
/* A stop waits for the job from init until release (stopjobs.h), which
 * comes once its outcome is recorded, or at exit. */
void conn_job_init(struct conn_job *who, struct conn *c, const char *id);
/* A job of its own about id, sent by who's device from who's address,
 * that no connection waits for. */
void conn_job_copy(struct conn_job *to, const struct conn_job *who,
    const char *id);
void conn_job_release(struct conn_job *who);
/* who is c's request under way (c->job) until conn_job_end. */
void conn_job_start(struct conn_job *who);
void conn_job_end(struct conn_job *who);
/* c goes: its request under way, if any, goes on without it. */
void conn_job_detach(struct conn *c);
/* " device_gone=1" for a log line once its connection is gone, or "". */
const char *conn_job_gone(const struct conn_job *who);
/* Its audit record: object KIND:ID, actor the device, from its address
 * over tls. */
void conn_job_audit(const struct conn_job *who, const char *action,
    const char *kind, const char *result, const char *reason);

/* conn_alert.c */
void conn_alert(struct conn *c, const json_t *o);
int conn_hold_receipt(struct conn *c, const char *alert_id, json_t *frame);
/* The connection goes: its alert's request goes on, recorded alone. */
void conn_ingest_detach(struct conn *c);

/* conn_signed.c */
/* The device this connection authenticated as, enrolled and not revoked
 * in the configuration now; NULL with the error sent. */
const struct device_entry *conn_signed_device(struct conn *c);
/* A base64 payload (at most max characters; 0: any) and its base64
 * Ed25519 signature: 0 with *raw (*len bytes, freed by the caller) and
 * sig; -1 with nothing kept. */
int conn_signed_decode(const char *b64, const char *s64, size_t max,
    unsigned char **raw, size_t *len, unsigned char sig[crypto_sign_BYTES]);
/* An envelope whose signature check gave verified (0: good): 0 with it
 * parsed into env (envelope_free); else -1 with bad_signature (bad_sig)
 * or bad_envelope (why it does not parse) sent to the device. */
int conn_signed_envelope(struct conn *c, int verified, const char *bad_sig,
    const unsigned char *raw, size_t len, struct envelope *env);

/* conn_request.c */
void conn_status(struct conn *c, const json_t *o);
void conn_list(struct conn *c, const json_t *o);
void conn_directory(struct conn *c, const json_t *o);
/* The answer of a status or list script, to the device. */
void conn_answer_cb(json_t *reply, const char *err, void *arg);
/* Redis does not know c->req_alert_id: unknown_alert, or unavailable
 * while this relay's spool still holds it on its way into Redis. */
void conn_unknown_alert(struct conn *c);

/* conn_cancel.c: a device's cancel, which outlives its connection. */
struct conn_cancel {
	struct conn_job who; /* who.id: the alert */
	struct store_req *req;
	int duress; /* v2 with the duress PIN (duress.c) */
	/* no cancel, only the duress: a check-in too late under duress
	 * (checkin_duress.c), whose device heard the own PIN's answer */
	int quiet;
	/* the script's answer: conn_cancel_done_cb, or the check-in's */
	void (*done)(json_t *reply, const char *err, void *arg);
	/* its signed bytes, {"signed":B64,"sig":B64}, kept with the alert
	 * and passed on in the webhooks (docs/PROTOCOL.md "Cancel") */
	json_t *signed_cancel;
};
/* The script's answers that wrote nothing, for store_eval_replicated. */
extern const char *const conn_cancel_at_once[];
void conn_cancel(struct conn *c, const json_t *o);
/* The cancel script's answer: recorded, then to the device if there. */
void conn_cancel_done_cb(json_t *reply, const char *err, void *arg);
/* 1 if this channel copy of a "cancelled" receipt is one the session
 * already had with its answer (cancel_skip): taken, not sent again. */
int conn_cancel_skip_take(struct conn *c, const char *alert_id);

#endif
