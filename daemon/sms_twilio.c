/*
 * The twilio gateway driver: Twilio's Messages REST API (and providers
 * that copy it), one form POST with the Account SID and auth token as
 * HTTP Basic credentials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "sms_request.h"
#include "xmalloc.h"

static int
sms_twilio_check(struct sms_gateway *gw, char *err, size_t errlen)
{
	return sms_request_url_check(gw->url, 0, err, errlen);
}

/* {url}/2010-04-01/Accounts/{sid}/Messages.json, a trailing '/' of
 * url's path dropped. */
static int
sms_twilio_url(const struct sms_gateway *gw, struct sms_request *r)
{
	CURLU *u;
	char *path = NULL, *sid, *newpath = NULL;
	size_t n;
	int rc = -1;

	if ((u = curl_url()) == NULL)
		log_fatalx("curl_url failed");
	sid = sms_request_escape(gw->username, ESC_URL);
	if (curl_url_set(u, CURLUPART_URL, gw->url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		n = strlen(path);
		while (n > 0 && path[n - 1] == '/')
			n--;
		newpath = xasprintf("%.*s/2010-04-01/Accounts/%s/Messages.json",
		    (int)n, path, sid);
		if (curl_url_set(u, CURLUPART_PATH, newpath, 0) == CURLUE_OK &&
		    sms_request_url_take(u, &r->url) == 0)
			rc = 0;
	}
	curl_free(path);
	free(newpath);
	free(sid);
	curl_url_cleanup(u);
	return rc;
}

/* POST, Basic sid:token, form To, From, Body. */
static int
sms_twilio_request(const struct sms_gateway *gw, const char *to,
    const char *text, const char *ref, const char *report,
    struct sms_request *r, char *err, size_t errlen)
{
	(void)report; /* Kannel alone is asked for reports */
	(void)ref;
	if (sms_twilio_url(gw, r) != 0) {
		snprintf(err, errlen, "cannot build the Messages URL");
		return -1;
	}
	if (sms_request_form_add(&r->body, "To", to) != 0 ||
	    sms_request_form_add(&r->body, "From", gw->from) != 0 ||
	    sms_request_form_add(&r->body, "Body", text) != 0) {
		snprintf(err, errlen, "request too long");
		return -1;
	}
	r->method = "POST";
	sms_request_userpwd(r, gw->username, gw->password);
	r->headers[r->nheaders++] = xstrdup("Content-Type: " SMS_FORM_TYPE);
	r->headers[r->nheaders++] = xstrdup("Accept: application/json");
	return 0;
}

const struct sms_driver sms_twilio_driver = {"twilio", SMS_TWILIO,
    sms_twilio_check, sms_twilio_request, NULL};
