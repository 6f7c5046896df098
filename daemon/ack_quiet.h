/*
 * Log lines and audit records of acknowledgements that a holder of a
 * recipient's token (or a sender from its number) can repeat at will:
 * a repeat of an acknowledgement already taken, a refusal "not on that
 * alert", a statement refused or not matching, a request over its rate.  Once a
 * minute per recipient and kind, not once per request, as ack_log_due() does
 * for bad tokens; what was left out is counted and said with the next one.
 */
#ifndef ALERTRELAY_ACK_QUIET_H
#define ALERTRELAY_ACK_QUIET_H

#include <stdint.h>

enum ack_quiet_kind {
	ACK_QUIET_REPEAT, /* acknowledged again by the same recipient */
	ACK_QUIET_NOT_ON, /* "not on that alert (or no such alert)" */
	ACK_QUIET_STATEMENT, /* a signed statement refused */
	ACK_QUIET_RATE, /* over its request rate (ack_rate.h) */
	ACK_QUIET_N
};

struct ack_quiet;

struct ack_quiet *ack_quiet_new(void);
void ack_quiet_free(struct ack_quiet *q);
/* 1 if rid's line of this kind is due now (*left_out: how many were
 * left out since the last one); 0 if it is to be left out (counted). */
int ack_quiet_due(struct ack_quiet *q, const char *rid,
    enum ack_quiet_kind kind, int64_t now, unsigned long long *left_out);

#endif
