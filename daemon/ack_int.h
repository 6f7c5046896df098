/*
 * What the acknowledgement listener's files share (ack.c: the listeners
 * and HTTPS acknowledgements; ack_sms.c: SMS replies from gateways):
 * the listener's state and a request waiting for Redis.
 */
#ifndef ALERTRELAY_ACK_INT_H
#define ALERTRELAY_ACK_INT_H

#include <sys/queue.h>

#include <netinet/in.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "ack_limit.h"
#include "ack_parse.h"
#include "ack_quiet.h"
#include "directory.h"
#include "sms_gateway.h"
#include "util.h"

struct relay;
struct relay_config;
struct recipient_entry;
struct store_req;

#define ACK_BODY_MAX 4096
#define ACK_LOG_INTERVAL_MS 60000

enum ack_log {
	ACK_LOG_BAD_TOKEN,
	ACK_LOG_QUERY_TOKEN,
	ACK_LOG_QUERY_TAKEN,
	ACK_LOG_UNKNOWN_NUMBER,
	ACK_LOG_N
};

struct ack {
	struct relay *relay;
	struct evhttp *https;
	struct evhttp *plain;
	struct ack_limit *limit; /* failed SMS replies; made when first used */
	struct ack_hint *hints; /* "how to reply" SMS sent; the same */
	struct ack_notices *notices; /* confirmations and hints being sent */
	int64_t logged_ms[ACK_LOG_N]; /* the last line of each kind */
	struct ack_quiet *quiet; /* lines a recipient's token can repeat */
	struct ack_rate *rate; /* HTTPS requests per recipient */
	struct http_guard *https_guard;
	struct http_guard *plain_guard;
	struct ack_hinting *hinting; /* hints asking Redis about drills */
	TAILQ_HEAD(, ack_pending) pending; /* waiting for Redis or WAIT */
};

/*
 * One request waiting for Redis (its script, then WAIT).  The script is
 * sent: what it does in Redis is done whether or not the client stays,
 * so the log line, the audit record, the SMS confirmation and the
 * metrics must not depend on its connection.  If the connection goes
 * first, its close callback only lets go of the request (req, evcon
 * NULL): what the records need is kept here, and only the answer is
 * skipped.  (libevent 2.1 stops reading a connection whose request it
 * handed over, so a client's hang-up is seen only when the answer is
 * written; the callback runs when the relay frees the connection
 * itself, or with a libevent that notices sooner.)
 */
struct ack_pending {
	TAILQ_ENTRY(ack_pending) entry; /* in a->pending */
	struct ack *a;
	struct evhttp_request *req; /* NULL once the client went away */
	struct evhttp_connection *evcon; /* likewise */
	char addr[INET6_ADDRSTRLEN + 1]; /* the peer's, for the audit log */
	struct store_req *sreq;
	char rid[ID_MAX + 1];
	char channel[8];
	char gateway[ID_MAX + 1]; /* sms: whose bucket a success refunds */
	char number[ACK_NUMBER_MAX];
	enum ack_limit_took took; /* sms: the tokens a success gives back */
	json_t *owners; /* sms: [rid, alias] of everyone with that number */
	char ref[ACK_REF_LEN + 1]; /* sms: what the confirmation names */
	char by[ACK_BY_MAX + ID_MAX + 8]; /* "NAME (alias)", or "" */
	json_t *stmt; /* the signed statement (ack_signed.h), or NULL */
};
/* alertctl and the console show an acknowledged_by of at most
 * OUT_ACKED_BY_MAX (client/out.h) bytes: "NAME (alias)" must fit. */
_Static_assert(ACK_BY_MAX + 2 + ID_MAX + 1 <= 131 &&
        DIRECTORY_ALIAS_MAX <= ID_MAX,
    "acknowledged_by longer than alertctl and the console show");

/* 1 when a line of that kind is due (once a minute at most). */
int ack_log_due(struct ack *a, enum ack_log kind);
void ack_limit_conf(const struct relay_config *cfg, struct ack_limit_conf *c);
/* Answers req with code and {"error": message}. */
void ack_error(struct evhttp_request *req, int code, const char *reason,
    const char *message);
/* Runs the acknowledgement script for p (made by the caller, its
 * channel and the like filled in), by alert id or by reference; the
 * answer, the log line and the audit record follow. */
void ack_submit(struct ack *a, struct evhttp_request *req,
    const struct recipient_entry *r, struct ack_pending *p, const char *aid,
    const char *ref);

/* ack_sms.c: POST or GET /v1/sms/<gateway>, a reply from a phone. */
void ack_sms(struct ack *a, struct evhttp_request *req, const char *path,
    const char *query);
/* Lets go of the hints still waiting for Redis (at ack_close). */
void ack_sms_close(struct ack *a);

#endif
