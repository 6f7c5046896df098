/*
 * SMS delivery reports on the ack listener: Kannel's GET of a report URL
 * (sms_report.h), /v1/sms/<gateway>/report?a=A&r=R&c=C&type=T.  The
 * credential is compared in constant time with the one Redis keeps for
 * that SMS before anything changes; a report that does not match, comes
 * after sms_report_timeout or is not final creates and changes nothing.
 */
#ifndef ALERTRELAY_ACK_REPORT_H
#define ALERTRELAY_ACK_REPORT_H

#include <event2/http.h>

struct relay;
struct sms_gateway;

void ack_report(struct relay *relay, struct evhttp_request *req,
    const struct sms_gateway *gw, const char *query);

#endif
