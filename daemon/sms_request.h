/*
 * What an SMS gateway driver (sms_kannel.c, sms_twilio.c, sms_http.c)
 * builds: one HTTP request, in buffers that are wiped when freed, and
 * the small interface through which sms_gateway.c checks a driver's
 * configuration and asks it for the request of one message.
 */
#ifndef ALERTRELAY_SMS_REQUEST_H
#define ALERTRELAY_SMS_REQUEST_H

#include <stddef.h>

#include <curl/curl.h>

#include "sms_gateway.h"

#define SMS_HEADERS_MAX 32 /* header lines of an http gateway */
#define SMS_TEMPLATE_MAX 8192 /* an expanded url, header or body */
#define SMS_FORM_TYPE "application/x-www-form-urlencoded"

/* A growing string; grows by copying and wiping, freed wiped. */
struct sms_buf {
	char *p;
	size_t len, cap;
};

/* One request, built by a driver and handed to http_post(). */
struct sms_request {
	const char *method;
	struct sms_buf url;
	struct sms_buf body;
	char *userpwd; /* "user:password", sodium_malloc'd */
	char *headers[SMS_HEADERS_MAX + 2];
	size_t nheaders;
};

struct sms_driver {
	const char *type; /* the value of "type" */
	enum sms_gateway_type id;
	/* The driver's own configuration rules, after the common ones;
	 * 0, or -1 with a reason in err (never echoing a URL). */
	int (*check)(struct sms_gateway *gw, char *err, size_t errlen);
	/* The request sending text to the number to; ref is never NULL;
	 * report (or NULL) is sms_send()'s. */
	int (*request)(const struct sms_gateway *gw, const char *to,
	    const char *text, const char *ref, const char *report,
	    struct sms_request *r, char *err, size_t errlen);
	/* What a 2xx answer means, from the start of its body (NULL:
	 * SMS_ACCEPTED): a gateway may say it only queued the message. */
	enum sms_result (*answer)(const char *body);
};

extern const struct sms_driver sms_kannel_driver;
extern const struct sms_driver sms_twilio_driver;
extern const struct sms_driver sms_http_driver;

enum sms_escape {
	ESC_URL, /* percent-encoded (URLs, form bodies) */
	ESC_JSON, /* the inside of a JSON string */
	ESC_HEADER, /* as is, but never a line break */
	ESC_RAW, /* as is */
};

/* -1 when the buffer would exceed SMS_TEMPLATE_MAX. */
int sms_request_buf_add(struct sms_buf *b, const char *s, size_t n);
void sms_request_buf_free(struct sms_buf *b);
/* s escaped (the caller wipes and frees), or NULL when it cannot be put
 * there: not UTF-8 for JSON, a line break in a header. */
char *sms_request_escape(const char *s, enum sms_escape how);
/* https://, or http:// to a loopback address; no user:password; no
 * query unless allow_query.  The URL is never echoed: a template may
 * hold a secret. */
int sms_request_url_check(const char *url, int allow_query, char *err,
    size_t errlen);
/* name=value, value percent-encoded, appended with '&' (or nothing). */
int sms_request_form_add(struct sms_buf *b, const char *name,
    const char *value);
/* Copies the URL curl built from u into b. */
int sms_request_url_take(CURLU *u, struct sms_buf *b);
void sms_request_userpwd(struct sms_request *r, const char *user,
    const char *password);
/* Wipes and frees everything r holds. */
void sms_request_free(struct sms_request *r);

#endif
