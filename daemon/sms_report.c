/*
 * SMS delivery reports: the per-SMS credential and the report's type
 * (sms_report.h).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "sms_report.h"

void
sms_report_cred(char out[SMS_REPORT_CRED_LEN + 1])
{
	unsigned char b[SMS_REPORT_CRED_LEN / 2];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, SMS_REPORT_CRED_LEN + 1, b, sizeof(b));
	sodium_memzero(b, sizeof(b));
}

/* Alert ids are hex and recipient ids id_valid(): nothing to escape. */
int
sms_report_query(const char *aid, const char *rid, const char *cred, char *out,
    size_t len)
{
	int n = snprintf(out, len, "a=%s&r=%s&c=%s", aid, rid, cred);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
sms_report_type(const char *s)
{
	if (s == NULL)
		return 0;
	if (strcmp(s, "1") == 0)
		return SMS_REPORT_DELIVERED;
	if (strcmp(s, "2") == 0)
		return SMS_REPORT_FAILED;
	if (strcmp(s, "16") == 0)
		return SMS_REPORT_SMSC_FAILED;
	return 0;
}

static int
sms_report_cred_valid(const char *s)
{
	return s != NULL && strlen(s) == SMS_REPORT_CRED_LEN &&
	    strspn(s, "0123456789abcdef") == SMS_REPORT_CRED_LEN;
}

/* libevent's query parser, as the ack listener's other requests use. */
int
sms_report_parse(const char *query, struct sms_report_fields *out)
{
	struct evkeyvalq q;
	const char *a, *r, *c;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	TAILQ_INIT(&q);
	if (query == NULL || evhttp_parse_query_str(query, &q) != 0) {
		evhttp_clear_headers(&q);
		return -1;
	}
	a = evhttp_find_header(&q, "a");
	r = evhttp_find_header(&q, "r");
	c = evhttp_find_header(&q, "c");
	out->type = sms_report_type(evhttp_find_header(&q, "type"));
	if (a != NULL && alert_id_valid(a) && r != NULL && id_valid(r) &&
	    sms_report_cred_valid(c)) {
		snprintf(out->aid, sizeof(out->aid), "%s", a);
		snprintf(out->rid, sizeof(out->rid), "%s", r);
		memcpy(out->cred, c, SMS_REPORT_CRED_LEN + 1);
		rc = 0;
	}
	evhttp_clear_headers(&q);
	return rc;
}
