/*
 * The per-recipient token buckets of the ack listener (ack_rate.h), in
 * its table of recipients (ack_recipients.h).  Tokens are counted in
 * thousandths, so that a rate of r a second adds r of them each
 * millisecond.
 */
#include <stdlib.h>

#include "ack_rate.h"
#include "ack_recipients.h"
#include "xmalloc.h"

#define ACK_RATE_ONE 1000 /* one token, in thousandths */

struct ack_rate_bucket {
	int64_t milli; /* tokens held, in thousandths */
	int64_t at_ms; /* when milli was last brought up to date */
};

struct ack_rate {
	struct ack_recipients *t;
};

struct ack_rate *
ack_rate_new(void)
{
	struct ack_rate *ar = xcalloc(1, sizeof(*ar));

	ar->t = ack_recipients_new(sizeof(struct ack_rate_bucket));
	return ar;
}

void
ack_rate_free(struct ack_rate *ar)
{
	if (ar == NULL)
		return;
	ack_recipients_free(ar->t);
	free(ar);
}

int
ack_rate_take(struct ack_rate *ar, const char *rid, long burst, long rate_per_s,
    int64_t now_ms, long *retry_s)
{
	int made;
	struct ack_rate_bucket *b = ack_recipients_get(ar->t, rid, &made);
	int64_t cap = (int64_t)burst * ACK_RATE_ONE, wait_ms;

	if (made) { /* full on its first use */
		b->milli = cap;
		b->at_ms = now_ms;
	}

	/* a clock that went back refills nothing; a long wait fills it */
	if (now_ms > b->at_ms) {
		if (now_ms - b->at_ms >= cap / rate_per_s + 1)
			b->milli = cap;
		else
			b->milli += (now_ms - b->at_ms) * rate_per_s;
	}
	b->at_ms = now_ms;
	if (b->milli > cap) /* a reload made the burst smaller */
		b->milli = cap;
	if (b->milli >= ACK_RATE_ONE) {
		b->milli -= ACK_RATE_ONE;
		return 1;
	}
	wait_ms = (ACK_RATE_ONE - b->milli + rate_per_s - 1) / rate_per_s;
	*retry_s = (long)((wait_ms + 999) / 1000);
	if (*retry_s < 1)
		*retry_s = 1;
	return 0;
}
