/*
 * Limits on failed SMS acknowledgements: a token bucket per sender
 * number and one per gateway, both spent only by failures (a text that
 * is not OK <ref>, or a reference that was not sent to that number).
 * Every reply takes a token before it is looked at and a success gives
 * it back, so that replies sent at once cannot all pass the check
 * before the first failure is counted.
 * While a number's bucket is empty, replies from it are not looked at.
 * While the gateway's is empty, replies through it are not looked at
 * from a number that failed within its sms_fail_interval; a number
 * whose own bucket is full (no failure lately) is looked at all the
 * same, taking a token from its own bucket alone.  Without that, a few
 * spoofed recipient numbers could drain the gateway's bucket and have
 * every other recipient's right OK <ref> refused until it refilled.  A
 * right reply cannot be told from a guess without the lookup, so the
 * lookup is what is limited: per number, one after each failure-free
 * interval, whatever the gateway's bucket says.  Each refusal is logged
 * once per interval per bucket, not once per reply.  Failures from
 * numbers that are no recipient's cost nothing here: no reference was
 * ever sent to them, so there is nothing for them to guess.
 *
 * Why 8 letters of 32 (40 bits, 2^40 = 1.1e12) are enough.  A reference
 * only counts from a number it was sent to, so a guesser must send from
 * (spoof) a recipient's number.  With the defaults ([ack]
 * sms_fail_burst = 5, sms_fail_interval = 600 s; gateway_fail_burst =
 * 50, gateway_fail_interval = 60 s), one number is looked at for no
 * more than 5 + 52,560 failed replies a year: aimed at one alert, a
 * chance of 4.8e-8 a year per number it was sent to.  Across numbers,
 * one gateway looks at no more than 50 + 525,600 failed replies a year
 * through its bucket, plus at most 52,560 a year per recipient number
 * while that bucket is empty (a full number's one reply each
 * interval).  Aimed at any of N references live for the numbers tried,
 * with R recipient numbers: (525,650 + R x 52,560) x N / 2^40 a year
 * (R = 100, N = 1,000: 5.3e-3 a year).  Each relay instance keeps its
 * own buckets: multiply by the instances.
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

/* What a reply took: nothing (it is not looked at: over the number's
 * limit, or the gateway's for a number that failed lately; logged once
 * per interval, by who: a recipient id, never the number), a token of
 * both buckets, or of the number's alone (the gateway's was empty). */
enum ack_limit_took {
	ACK_LIMIT_REFUSED,
	ACK_LIMIT_BOTH,
	ACK_LIMIT_NUMBER,
};

enum ack_limit_took ack_limit_take(struct ack_limit *al,
    const struct ack_limit_conf *c, const char *gateway, const char *number,
    const char *who, int64_t now_ms);

/* The reply was good: what it took goes back. */
void ack_limit_refund(struct ack_limit *al, const struct ack_limit_conf *c,
    const char *gateway, const char *number, enum ack_limit_took took,
    int64_t now_ms);

#endif
