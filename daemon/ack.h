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
/* The relay stops: no new acknowledgement is taken (the listening
 * sockets close, a request still coming on a connection already open
 * is answered 503), and those waiting for Redis go on (stopjobs.h), so
 * that every one the relay took is recorded before relay.stop. */
void ack_stop(struct ack *a);
void ack_close(struct ack *a);

#endif
