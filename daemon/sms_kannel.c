/*
 * The kannel gateway driver: Kannel's sendsms interface, one GET with
 * the credentials, sender, number and text in the query string (as
 * Kannel requires; hence http:// only to a loopback address, where no
 * one on the wire reads them), and what its answer says.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "sms_request.h"

/* An existing query in url (e.g. smsc=...) is kept. */
static int
sms_kannel_check(struct sms_gateway *gw, char *err, size_t errlen)
{
	return sms_request_url_check(gw->url, 1, err, errlen);
}

/* With a report query (sms_report.h) and the gateway's report_url:
 * dlr-mask asks for the final reports alone, delivered to the phone (1),
 * not delivered to it (2) or not to the SMS centre (16); dlr-url is
 * report_url with that query and Kannel's %d, the report's type.  The
 * query's credential is for that one SMS; the MO token never goes in
 * it: Kannel logs the URL. */
static int
sms_kannel_report(const struct sms_gateway *gw, const char *report,
    struct sms_buf *q)
{
	struct sms_buf url = {0};
	int rc;

	if (report == NULL || gw->report_url == NULL)
		return 0;
	rc = sms_request_buf_add(&url, gw->report_url,
	         strlen(gw->report_url)) != 0 ||
	    sms_request_buf_add(&url, "?", 1) != 0 ||
	    sms_request_buf_add(&url, report, strlen(report)) != 0 ||
	    sms_request_buf_add(&url, "&type=%d", 8) != 0 ||
	    sms_request_form_add(q, "dlr-mask", "19") != 0 ||
	    sms_request_form_add(q, "dlr-url", url.p) != 0;
	sms_request_buf_free(&url);
	return rc ? -1 : 0;
}

/* GET {url}?username=..&password=..&from=..&to=..&text=..&charset=UTF-8
 * &coding=0[&dlr-mask=19&dlr-url=..] */
static int
sms_kannel_request(const struct sms_gateway *gw, const char *to,
    const char *text, const char *ref, const char *report,
    struct sms_request *r, char *err, size_t errlen)
{
	struct sms_buf q = {0};
	CURLU *u;
	int rc = -1;

	(void)ref;
	if (sms_kannel_report(gw, report, &q) != 0 ||
	    sms_request_form_add(&q, "username", gw->username) != 0 ||
	    sms_request_form_add(&q, "password", gw->password) != 0 ||
	    sms_request_form_add(&q, "from", gw->from) != 0 ||
	    sms_request_form_add(&q, "to", to) != 0 ||
	    sms_request_form_add(&q, "text", text) != 0 ||
	    sms_request_form_add(&q, "charset", "UTF-8") != 0 ||
	    sms_request_form_add(&q, "coding", "0") != 0) {
		snprintf(err, errlen, "request too long");
		sms_request_buf_free(&q);
		return -1;
	}
	if ((u = curl_url()) == NULL)
		log_fatalx("curl_url failed");
	if (curl_url_set(u, CURLUPART_URL, gw->url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, q.p, CURLU_APPENDQUERY) !=
	        CURLUE_OK ||
	    sms_request_url_take(u, &r->url) != 0)
		snprintf(err, errlen, "cannot build the sendsms URL");
	else {
		r->method = "GET";
		rc = 0;
	}
	curl_url_cleanup(u);
	sms_request_buf_free(&q);
	return rc;
}

/* smsbox answers 202 whether bearerbox routed the message to an SMS
 * centre ("0: Accepted for delivery") or only keeps it because no
 * centre's link is up ("3: Queued for later delivery"), as Kannel 1.4.5
 * does with its fake SMSC stopped; the status code cannot tell them
 * apart, the number before the colon does. */
static enum sms_result
sms_kannel_answer(const char *body)
{
	return strncmp(body, "3:", 2) == 0 ? SMS_QUEUED : SMS_ACCEPTED;
}

const struct sms_driver sms_kannel_driver = {"kannel", SMS_KANNEL,
    sms_kannel_check, sms_kannel_request, sms_kannel_answer};
