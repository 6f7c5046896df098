/*
 * Limits on failed SMS acknowledgements: a token bucket per sender
 * number and one per gateway, both spent only by failures (a text that
 * is not OK <ref>, or a reference that was not sent to that number).
 * Every reply takes a token from both before it is looked at and a
 * success gives them back, so that replies sent at once cannot all pass
 * the check before the first failure is counted.
 * While either bucket is empty, replies from that number (or through
 * that gateway) are not looked at, and that is logged once per interval
 * per bucket, not once per reply.  Failures from numbers that are no
 * recipient's cost nothing here: no reference was ever sent to them, so
 * there is nothing for them to guess.
 *
 * Why 8 letters of 32 (40 bits, 2^40 = 1.1e12) are enough.  A reference
 * only counts from a number it was sent to, so a guesser must send from
 * (spoof) a recipient's number.  With the defaults ([ack]
 * sms_fail_burst = 5, sms_fail_interval = 600 s; gateway_fail_burst =
 * 50, gateway_fail_interval = 60 s), one gateway looks at no more than
 * 50 + 525,600 failed replies a year, whatever the number of recipients
 * or numbers spoofed.  Aimed at one alert, that is a chance of
 * 525,650 / 2^40 = 4.8e-7 a year; aimed at any of N references live for
 * the numbers tried, N times that (1,000 live references: 4.8e-4 a
 * year).  One number alone: 5 + 52,560 a year, 4.8e-8 per alert.  Each
 * relay instance keeps its own buckets: multiply by the instances.
 * A reference lives max(30 days, 2 x the policy's max_age), so they
 * recycle, and with 2^40 of them a new alert finds a free one at the
 * first of its 4 candidates all but always.
 */
#ifndef ALERTRELAY_ACK_LIMIT_H
#define ALERTRELAY_ACK_LIMIT_H

#include <stdint.h>

struct ack_limit;

struct ack_limit_conf {
	long number_burst, number_interval_s; /* one token per interval */
	long gateway_burst, gateway_interval_s;
};

struct ack_limit *ack_limit_new(void);
void ack_limit_free(struct ack_limit *al);

/* 1, with a token taken from the number's and the gateway's bucket,
 * when a reply from number through gateway may be looked at now; 0 when
 * either is over its limit (logged once per interval, by who: a
 * recipient id, never the number). */
int ack_limit_take(struct ack_limit *al, const struct ack_limit_conf *c,
    const char *gateway, const char *number, const char *who, int64_t now_ms);

/* The reply was good: the tokens go back. */
void ack_limit_refund(struct ack_limit *al, const struct ack_limit_conf *c,
    const char *gateway, const char *number, int64_t now_ms);

#endif
