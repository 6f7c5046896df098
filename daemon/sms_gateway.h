/*
 * SMS gateways: Kannel's sendsms interface, Twilio-compatible REST, and a
 * generic HTTP template for other providers.  Each is a [gateway NAME]
 * section in alertrelayd.conf; messages go out through the daemon's
 * http_client (curl multi on the event loop), never blocking it.  The
 * texts themselves are sms_text.h's; each type's request is built by its
 * driver (sms_kannel.c, sms_twilio.c, sms_http.c).
 *
 * Every url is https://, or http:// to a loopback address only (where no
 * one on the wire reads the credentials), and carries no user:password.
 */
#ifndef ALERTRELAY_SMS_GATEWAY_H
#define ALERTRELAY_SMS_GATEWAY_H

#include <stddef.h>
#include <time.h>

#include "sms_text.h"
#include "util.h"

struct http_client;
struct http_req;

enum sms_gateway_type { SMS_KANNEL, SMS_TWILIO, SMS_HTTP };

struct sms_gateway {
	char name[ID_MAX + 1];
	int line; /* where its section starts, for messages */
	enum sms_gateway_type type;
	int has_type;
	/* kannel: the sendsms URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms
	 * twilio: the API base, e.g. https://api.twilio.com
	 * http:   the URL, a template (see body) */
	char *url;
	char *username; /* kannel username; twilio Account SID */
	char *password_file; /* kannel password; twilio auth token (0600) */
	char *password; /* read from password_file; sodium_malloc'd */
	char *from; /* sender: number or alphanumeric id */
	char *mo_token_file; /* secret the gateway presents with replies */
	/* kannel: where Kannel sends delivery reports, the relay's plain ack
	 * listener, e.g. http://127.0.0.1:8089/v1/sms/kannel/report; NULL:
	 * none asked for (sms_report.h) */
	char *report_url;
	char *mo_token; /* read from mo_token_file; sodium_malloc'd */
	int mo_token_in_query; /* also take it from ?token= (default no) */
	/* http only; with username, password_file is sent as HTTP Basic */
	char *method; /* GET or POST (default POST) */
	char **headers; /* "Name: value" templates */
	size_t nheaders;
	char *body; /* template; {to} {from} {text} {ref} expand,
	               URL-encoded in form bodies and URLs,
	               JSON-escaped in application/json bodies;
	               {password} is the password_file secret, e.g.
	               "Authorization: Bearer {password}" */
	char *content_type; /* default application/x-www-form-urlencoded */
};

/* Configuration, called by relay_config.c for each key of [gateway NAME];
 * dir resolves relative paths.  0, or -1 with a reason in err. */
int sms_gateway_set(struct sms_gateway *gw, const char *dir, const char *key,
    const char *value, char *err, size_t errlen);
/* After the section is complete: required keys, reading password_file. */
int sms_gateway_check(struct sms_gateway *gw, char *err, size_t errlen);
void sms_gateway_clear(struct sms_gateway *gw);

/* How the gateway answered one message: sms_done_cb's ok.  Neither
 * answer says a phone got it: a gateway that takes a message has only
 * taken it.  SMS_QUEUED is a 2xx in which the gateway says it keeps the
 * message for later because it has no link to an SMS centre (Kannel's
 * "3: Queued for later delivery"); it sends it itself once the link is
 * back, so sending it again would only queue a copy.  A caller that
 * tests ok as a truth value takes a queued message as taken. */
enum sms_result { SMS_FAILED = 0, SMS_ACCEPTED = 1, SMS_QUEUED = 2 };
/* The error of SMS_QUEUED, and the reason a queued SMS is given up with
 * (delivery.c, and spool.c when its alert moves into Redis). */
#define SMS_QUEUED_ERROR "gateway queued it for later: no link to an SMS centre"
#define SMS_QUEUED_REASON SMS_QUEUED_ERROR "; not sent again"

/* ok is an enum sms_result.  error is set unless ok is SMS_ACCEPTED:
 * curl's reason, "gateway answered HTTP <status>", or why it is only
 * queued. */
typedef void (*sms_done_cb)(int ok, long status, const char *error, void *arg);
/* Sends text (valid UTF-8, no control characters, shorter than
 * SMS_TEXT_MAX) to the E.164 number to; ref fills {ref} (NULL: empty).
 * report, when not NULL and the gateway has a report_url, is the query
 * (sms_report.h) that its delivery reports are to carry back.
 * cb is called once from the loop, unless the request is cancelled.
 * Returns NULL, without calling cb, when no request could be made (a bad
 * number or text, a gateway that was not checked); the reason is logged.
 * Never logs a password, token, URL or message text. */
struct http_req *sms_send(struct http_client *hc, const struct sms_gateway *gw,
    const char *to, const char *text, const char *ref, const char *report,
    long connect_timeout_ms, long timeout_ms, sms_done_cb cb, void *arg);
/* Cancels a request of sms_send() (use this, not http_req_cancel(),
 * which would leave its small context allocated until
 * sms_send_forget_all()); cb is not called.  A finished request is
 * ignored. */
void sms_send_cancel(struct http_req *req);
/* Frees what sms_send() keeps for requests that can no longer finish:
 * call after http_client_free(), which drops them without callbacks. */
void sms_send_forget_all(void);

#endif
