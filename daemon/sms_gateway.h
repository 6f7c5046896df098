/*
 * SMS gateways: Kannel's sendsms interface, Twilio-compatible REST, and a
 * generic HTTP template for other providers.  Each is a [gateway NAME]
 * section in alertrelayd.conf; messages go out through the daemon's
 * http_client (curl multi on the event loop), never blocking it.
 *
 * An SMS carries metadata only (the relay never holds alert content):
 * the device's alias, the alert type, the time, a short reference and
 * how to acknowledge.
 */
#ifndef ALERTRELAY_SMS_GATEWAY_H
#define ALERTRELAY_SMS_GATEWAY_H

#include <stddef.h>
#include <time.h>

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
	char *username;	     /* kannel username; twilio Account SID */
	char *password_file; /* kannel password; twilio auth token (0600) */
	char *password;	     /* read from password_file; sodium_malloc'd */
	char *from;	     /* sender: number or alphanumeric id */
	char *mo_token_file; /* secret the gateway presents with replies */
	char *mo_token;	     /* read from mo_token_file; sodium_malloc'd */
	/* http only */
	char *method;	    /* GET or POST (default POST) */
	char **headers;	    /* "Name: value" templates */
	size_t nheaders;
	char *body;	    /* template; {to} {from} {text} {ref} expand,
			       URL-encoded in form bodies and URLs */
	char *content_type; /* default application/x-www-form-urlencoded */
};

/* Configuration, called by relay_config.c for each key of [gateway NAME];
 * dir resolves relative paths.  0, or -1 with a reason in err. */
int sms_gateway_set(struct sms_gateway *gw, const char *dir, const char *key,
    const char *value, char *err, size_t errlen);
/* After the section is complete: required keys, reading password_file. */
int sms_gateway_check(struct sms_gateway *gw, char *err, size_t errlen);
void sms_gateway_clear(struct sms_gateway *gw);

/* E.164: '+' and 8 to 15 digits. */
int sms_number_valid(const char *number);

/*
 * The alert SMS, e.g.
 *   "ALERT PANIC from Burgemeester-A 10:32 ref K7Q2. Reply ACK K7Q2"
 * in GSM-7 characters only (anything else in the alias becomes '?'), at
 * most 160 characters (the alias is shortened when needed); t is shown
 * in local time (TZ).  Returns the length.
 */
size_t sms_format_alert(char *out, size_t outlen, const char *alert_type,
    const char *alias, time_t t, const char *ref);
/* Follow-ups: "ACK K7Q2 by Contactpunt 10:35" / "CANCELLED K7Q2 ..." */
size_t sms_format_event(char *out, size_t outlen, const char *event,
    const char *ref, const char *by, time_t t);

/* ok is 1 when the gateway accepted the message (2xx; for Kannel also
 * its "0: Accepted" / "3: Queued" answers). */
typedef void (*sms_done_cb)(int ok, long status, const char *error,
    void *arg);
struct http_req *sms_send(struct http_client *hc, const struct sms_gateway *gw,
    const char *to, const char *text, const char *ref,
    long connect_timeout_ms, long timeout_ms, sms_done_cb cb, void *arg);

#endif
