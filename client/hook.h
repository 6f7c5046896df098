/*
 * One webhook from the relay (Standard Webhooks): authenticate it, print
 * it once, and say which HTTP status to answer.  alert.raised and
 * alert.escalated carry the sealed alert, which is opened and checked;
 * alert.acknowledged and alert.cancelled are notices without content,
 * as are device.offline, device.online and device.checkin_failed
 * (docs/PROTOCOL.md, revision 2, and "Check-in timers").
 * Refusals are logged with the webhook id and the reason, never with
 * alert content.
 */
#ifndef ALERTCTL_HOOK_H
#define ALERTCTL_HOOK_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

#include "ack_statement.h"
#include "alert.h"
#include "hook_keys.h"
#include "seen.h"
#include "shown.h"

#define HOOK_MAX_BODY (256 * 1024)
#define HOOK_MAX_SKEW_S 300 /* webhook-timestamp versus our clock */
#define HOOK_ID_MAX 256
/* How old (by its signed created_at) an alert may be before it is
 * marked, or refused, as possibly replayed: the relay delivers a fresh
 * alert to its first tier within seconds, and the escalation policies
 * this project ships reach their later tiers within minutes. */
#define HOOK_MAX_AGE_DEFAULT 600

struct hook_request;
struct hook_body;
struct hook_verdict;

struct hook_config {
	unsigned char *secret; /* webhook key, guarded memory */
	size_t secretlen;
	struct hook_keys keys; /* recipient keys, device keys */
	const char *recipient_id; /* NULL: any */
	int pretty;
	struct seen *seen; /* webhook ids answered (relay retries) */
	struct shown *shown; /* alerts and notices shown (replays) */
	long max_age; /* seconds; 0: no limit */
	int refuse_old; /* refuse, rather than mark, an older alert */
	/* Where a verified alert (a set) or notice (a NULL) goes before the
	 * webhook is answered; NULL: hook_print() to stdout (alertctl
	 * receive).  alertconsole commits it to its database.  0, or -1:
	 * answered 500 so that the relay retries. */
	int (*store)(void *arg, const struct hook_request *req,
	    const struct hook_body *b, const struct alert *a,
	    const struct hook_verdict *v);
	void *store_arg;
};

/* What the receiver makes of an alert beyond its signatures. */
struct hook_verdict {
	int repeat; /* shown before: not a new alert */
	long age; /* seconds since its signed created_at */
	int old; /* age beyond max_age */
	int revoked; /* its device is revoked in the directory */
	int early; /* created_at ahead of this host's clock (by more than
	            * HOOK_CLOCK_SKEW_S): released before its time */
};

/* Clocks of devices and receivers may differ this much. */
#define HOOK_CLOCK_SKEW_S 120

struct hook_request {
	const char *id, *timestamp, *signature; /* headers, may be NULL */
	const char *body;
	size_t bodylen;
};

struct hook_reply {
	int status;
	const char *reason; /* a static string, sent as the body */
};

/* The outer body, as received (pointers into o). */
struct hook_body {
	json_t *o;
	const char *type, *alert_id, *device_id, *alert_type, *created_at,
	    *received_at, *recipient_id, *ciphertext;
	int drill; /* "drill": true; absent (a relay of before drills): 0 */
};

void hook_handle(struct hook_config *cfg, const struct hook_request *req,
    struct hook_reply *reply);
/* The key an alert or a notice is remembered by in struct shown
 * ("alert:ID", "acknowledged:ID", "cancelled:ID", and for a later
 * position "location:" and a hash of ID and its created_at). */
void hook_key(const struct hook_body *b, char key[SHOWN_KEY_MAX + 1]);
/* Opens a parsed alert event's sealed alert with cfg's keys and checks
 * it against the envelope (what hook_handle does before storing it):
 * 0, or -1 with r set.  alertconsole opens stored bodies with it when a
 * page asks.  The caller alert_clear()s a. */
int hook_open_alert(struct hook_config *cfg, const struct hook_body *b,
    struct alert *a, struct hook_reply *r);

/* hook_print.c: writes the verified alert to stdout, flushed (and
 * fsync'ed when stdout is a file); -1 when that failed. */
int hook_print(const struct hook_body *b, const char *webhook_id,
    const struct alert *a, const struct hook_verdict *v, int pretty);
/* An alert type as people read it ("PANIEK"), translated when known,
 * else upper-cased and cleaned into buf. */
const char *hook_print_type(const char *type, char *buf, size_t len);
/* The reference to acknowledge by (docs/PROTOCOL.md), when the relay
 * sent a well-formed one: 8 letters of its alphabet; else NULL.  Only
 * the webhook secret vouches for it, so anything else is not shown. */
const char *hook_print_ref(const struct hook_body *b);
/* Whose word a notice is (notice_verify.h), for alert.acknowledged
 * and alert.cancelled. */
struct hook_notice {
	int repeat; /* shown before */
	const char *vouched_by; /* "device", "recipient" or "relay"; NULL
	                         * for other notices */
	int duress; /* the device's signed cancel says duress */
	char signer[ACK_STMT_TEXT_MAX + 1]; /* who signed the ack */
};
/* hook_print() for a notice without content. */
int hook_print_notice(const struct hook_body *b, const char *webhook_id,
    const struct hook_notice *n, int pretty);

/* hook_parse.c: the checks of headers and body that need no key, as
 * pure functions (the fuzzer's entry points).  0, or -1 with r set;
 * b->o is the caller's to json_decref() either way. */
int hook_parse_headers(const struct hook_request *req, struct hook_reply *r);
int hook_parse_body(const struct hook_request *req, struct hook_body *b,
    struct hook_reply *r);
/* 1 when type is an event that carries the sealed alert. */
int hook_is_alert_event(const char *type);
/* 1 when it carries the alert itself (raised, escalated, duress): an
 * event that may show the alert, date it and open it.  alert.location
 * carries the alert too, but only a later position of it. */
int hook_is_first_event(const char *type);
/* 1 when b carries it: an alert event other than a duress notice
 * without content (docs/PROTOCOL.md, "Cancel v2"), which is shown as a
 * notice. */
int hook_is_sealed(const struct hook_body *b);
/* The alert as the relay's outer fields of b tell it (no message, no
 * position): what a duress notice without content can show. */
void hook_outer_alert(const struct hook_body *b, struct alert *a);
/* Printable ASCII without spaces: safe to log and to keep. */
int hook_id_valid(const char *id);

#endif
