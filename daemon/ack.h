/*
 * The acknowledgement listener: how people tell the relay they took an
 * alert.  HTTPS (TLS 1.3, the relay's certificate) on [ack] listen for
 * POST /v1/alerts/{id}/ack with a recipient's bearer token, and SMS
 * replies from gateways (GET or POST /v1/sms/{gateway}) on the same
 * listener or on the loopback-only plain-HTTP [ack] listen_plain.
 */
#ifndef ALERTRELAY_ACK_H
#define ALERTRELAY_ACK_H

struct relay;
struct ack;

/* 0 and *out == NULL when disabled; -1 with a logged reason on failure. */
int ack_open(struct relay *relay, struct ack **out);
void ack_close(struct ack *a);

#endif
