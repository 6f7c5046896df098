/*
 * SMS delivery reports (Kannel's DLR): the credential each SMS's reports
 * carry back, and what a report's type means.
 *
 * Each alarm SMS through a gateway with report_url gets a credential of
 * its own, 16 random bytes in hex, kept in Redis with its alert and
 * recipient (P:report:A, store_scripts.h) until sms_report_timeout.  The
 * report URL Kannel calls names the alert, the recipient and that
 * credential (a=A&r=R&c=C&type=%d); the relay compares the credential in
 * constant time before anything changes.  It is not the gateway's MO
 * token, which Kannel would write to its logs with the URL: one that
 * leaks from there speaks for one SMS, for one report.
 */
#ifndef ALERTRELAY_SMS_REPORT_H
#define ALERTRELAY_SMS_REPORT_H

#include <stddef.h>

#include "util.h"

#define SMS_REPORT_CRED_LEN 32 /* hex characters */
/* a=A&r=R&c=C: an alert id (32), a recipient id (up to ID_MAX), the
 * credential, and the NUL */
#define SMS_REPORT_QUERY_MAX                                                   \
	(sizeof("a=&r=&c=") + 32 + ID_MAX + SMS_REPORT_CRED_LEN)

/* Kannel's report types (dlr-mask bits) that are final. */
enum sms_report_type {
	SMS_REPORT_DELIVERED = 1, /* delivered to the phone */
	SMS_REPORT_FAILED = 2, /* not delivered to the phone */
	SMS_REPORT_SMSC_FAILED = 16, /* not delivered to the SMS centre */
};

/* A new credential, SMS_REPORT_CRED_LEN hex characters. */
void sms_report_cred(char out[SMS_REPORT_CRED_LEN + 1]);

/* The query a report carries back: 0, or -1 when it does not fit. */
int sms_report_query(const char *aid, const char *rid, const char *cred,
    char *out, size_t len);

/* What a report's query (from the network) names. */
struct sms_report_fields {
	char aid[33];
	char rid[ID_MAX + 1];
	char cred[SMS_REPORT_CRED_LEN + 1]; /* wipe after use */
	int type; /* enum sms_report_type, or 0: not a final one */
};

/* a=A&r=R&c=C&type=T: 0 when A is an alert id, R a recipient id and C
 * a credential as the relay makes them (32 lower-case hex characters),
 * else -1.  A type other than 1, 2 or 16 is 0. */
int sms_report_parse(const char *query, struct sms_report_fields *out);

#endif
