/*
 * GET /v1/inbox on the ack listener: the alerts a recipient was sent
 * that are still open or were acknowledged, in a recent window, for
 * `alertctl inbox`.  Routing metadata only (the relay has no content):
 * reference, type, device, times, the tier reached and who took it.
 */
#ifndef ALERTRELAY_ACK_INBOX_H
#define ALERTRELAY_ACK_INBOX_H

#include <event2/http.h>

struct relay;
struct recipient_entry;

#define ACK_INBOX_MAX 50 /* alerts in one answer */
#define ACK_INBOX_SCAN 2000 /* accepted alerts looked at, newest first */

/* Answers req for recipient r (its token already checked). */
void ack_inbox(struct relay *relay, struct evhttp_request *req,
    const struct recipient_entry *r, const char *query);

#endif
