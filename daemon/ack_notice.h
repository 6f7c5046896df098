/*
 * The SMS the acknowledgement listener sends of its own accord: the
 * confirmation to whoever took an alert by SMS, and the hint on how to
 * reply.  Retried as deliveries are ([delivery] retry_initial_ms,
 * retry_max_ms, max_attempts: exponential backoff with jitter), in
 * memory: the acknowledgement itself is already in Redis, the text is a
 * courtesy to the person, and a restart forgets one still being tried.
 */
#ifndef ALERTRELAY_ACK_NOTICE_H
#define ALERTRELAY_ACK_NOTICE_H

#include "sms_template.h"

struct relay;
struct ack_notices;

struct ack_notices *ack_notices_new(struct relay *relay);
/* Cancels what is still being tried. */
void ack_notices_free(struct ack_notices *n);
/* An SMS of kind to recipient rid, through its gateway (else gw_name's);
 * ref names the alert (NULL for a hint); drill marks the text
 * OEFENING/DRILL.  Nothing when rid has no number or no gateway. */
void ack_notice_send(struct ack_notices *n, const char *rid,
    const char *gw_name, enum sms_template_kind kind, const char *ref,
    int drill);

#endif
