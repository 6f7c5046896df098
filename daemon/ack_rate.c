/*
 * The per-recipient token buckets of the ack listener (ack_rate.h).
 * Tokens are counted in thousandths, so that a rate of r a second adds
 * r of them each millisecond.  Recipients come from the configuration
 * (a valid token's owner), so the table grows with them only;
 * ACK_RATE_MAX bounds it all the same, a reload that renames every
 * recipient many times over at worst starting it afresh (every bucket
 * full: as after a restart).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_rate.h"
#include "util.h"
#include "xmalloc.h"

#define ACK_RATE_MAX 4096
#define ACK_RATE_ONE 1000 /* one token, in thousandths */

struct ack_rate_bucket {
	char rid[ID_MAX + 1];
	int64_t milli; /* tokens held, in thousandths */
	int64_t at_ms; /* when milli was last brought up to date */
};

struct ack_rate {
	struct ack_rate_bucket *b;
	size_t n, cap;
};

struct ack_rate *
ack_rate_new(void)
{
	return xcalloc(1, sizeof(struct ack_rate));
}

void
ack_rate_free(struct ack_rate *ar)
{
	if (ar == NULL)
		return;
	free(ar->b);
	free(ar);
}

/* rid's bucket, made full on its first use. */
static struct ack_rate_bucket *
ack_rate_bucket(struct ack_rate *ar, const char *rid, long burst,
    int64_t now_ms)
{
	size_t i;

	for (i = 0; i < ar->n; i++)
		if (strcmp(ar->b[i].rid, rid) == 0)
			return &ar->b[i];
	if (ar->n == ACK_RATE_MAX)
		ar->n = 0;
	if (ar->n == ar->cap) {
		ar->cap = ar->cap ? ar->cap * 2 : 16;
		ar->b = xreallocarray(ar->b, ar->cap, sizeof(*ar->b));
	}
	memset(&ar->b[ar->n], 0, sizeof(ar->b[ar->n]));
	snprintf(ar->b[ar->n].rid, sizeof(ar->b[ar->n].rid), "%s", rid);
	ar->b[ar->n].milli = (int64_t)burst * ACK_RATE_ONE;
	ar->b[ar->n].at_ms = now_ms;
	return &ar->b[ar->n++];
}

int
ack_rate_take(struct ack_rate *ar, const char *rid, long burst, long rate_per_s,
    int64_t now_ms, long *retry_s)
{
	struct ack_rate_bucket *b = ack_rate_bucket(ar, rid, burst, now_ms);
	int64_t cap = (int64_t)burst * ACK_RATE_ONE, wait_ms;

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
