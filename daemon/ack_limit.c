/* Limits on failed SMS acknowledgements (see ack_limit.h). */
#include <stdlib.h>
#include <string.h>

#include "ack_limit.h"
#include "keyhash.h"
#include "log.h"
#include "xmalloc.h"

/* Only recipients' numbers and gateways get buckets, so a small table
 * does; keys that collide share one, which only makes the limit
 * stricter for both. */
#define ACK_LIMIT_SLOTS 1024

struct ack_bucket {
	double tokens;
	int64_t at_ms; /* 0: never used */
	int64_t logged_ms; /* the last "over its limit" line */
};

struct ack_limit {
	struct ack_bucket numbers[ACK_LIMIT_SLOTS];
	struct ack_bucket gateways[ACK_LIMIT_SLOTS];
	struct keyhash key;
};

struct ack_limit *
ack_limit_new(void)
{
	struct ack_limit *al = xcalloc(1, sizeof(*al));

	/* A keyed hash: nobody can aim one number at another's bucket. */
	keyhash_init(&al->key);
	return al;
}

void
ack_limit_free(struct ack_limit *al)
{
	free(al);
}

static struct ack_bucket *
ack_limit_bucket(struct ack_limit *al, struct ack_bucket *table,
    const char *key)
{
	return &table[keyhash(&al->key, key, strlen(key)) % ACK_LIMIT_SLOTS];
}

/* Brings the bucket up to now; its tokens. */
static double
ack_limit_refill(struct ack_bucket *b, long burst, long interval_s,
    int64_t now_ms)
{
	if (b->at_ms == 0 || now_ms < b->at_ms)
		b->tokens = (double)burst;
	else if (interval_s > 0)
		b->tokens +=
		    (double)(now_ms - b->at_ms) / 1000.0 / (double)interval_s;
	if (b->tokens > (double)burst)
		b->tokens = (double)burst;
	b->at_ms = now_ms;
	return b->tokens;
}

/* Once per interval (at least a minute), not once per reply. */
static int
ack_limit_log_due(struct ack_bucket *b, long interval_s, int64_t now_ms)
{
	int64_t every = (interval_s > 60 ? interval_s : 60) * 1000;

	if (b->logged_ms != 0 && now_ms - b->logged_ms < every)
		return 0;
	b->logged_ms = now_ms;
	return 1;
}

enum ack_limit_took
ack_limit_take(struct ack_limit *al, const struct ack_limit_conf *c,
    const char *gateway, const char *number, const char *who, int64_t now_ms)
{
	struct ack_bucket *n = ack_limit_bucket(al, al->numbers, number);
	struct ack_bucket *g = ack_limit_bucket(al, al->gateways, gateway);
	double nt =
	    ack_limit_refill(n, c->number_burst, c->number_interval_s, now_ms);
	double gt = ack_limit_refill(g, c->gateway_burst, c->gateway_interval_s,
	    now_ms);

	if (nt < 1.0) {
		if (ack_limit_log_due(n, c->number_interval_s, now_ms))
			log_warnx("sms replies via %s from recipient=%s over "
			          "the limit of failed replies: ignored for "
			          "now",
			    gateway, who);
		return ACK_LIMIT_REFUSED;
	}
	n->tokens -= 1.0;
	if (gt >= 1.0) {
		g->tokens -= 1.0;
		return ACK_LIMIT_BOTH;
	}
	/* The gateway's bucket is empty, drained perhaps by guesses from
	 * other numbers: a number with no failure lately is looked at all
	 * the same (ack_limit.h). */
	if (nt >= (double)c->number_burst)
		return ACK_LIMIT_NUMBER;
	n->tokens += 1.0;
	if (ack_limit_log_due(g, c->gateway_interval_s, now_ms))
		log_warnx("sms replies via %s over the limit of failed "
		          "replies: ignored for now from numbers that failed "
		          "lately",
		    gateway);
	return ACK_LIMIT_REFUSED;
}

static void
ack_limit_give(struct ack_bucket *b, long burst)
{
	b->tokens += 1.0;
	if (b->tokens > (double)burst)
		b->tokens = (double)burst;
}

void
ack_limit_refund(struct ack_limit *al, const struct ack_limit_conf *c,
    const char *gateway, const char *number, enum ack_limit_took took,
    int64_t now_ms)
{
	struct ack_bucket *n = ack_limit_bucket(al, al->numbers, number);
	struct ack_bucket *g = ack_limit_bucket(al, al->gateways, gateway);

	if (took == ACK_LIMIT_REFUSED)
		return;
	ack_limit_refill(n, c->number_burst, c->number_interval_s, now_ms);
	ack_limit_give(n, c->number_burst);
	if (took == ACK_LIMIT_BOTH) {
		ack_limit_refill(g, c->gateway_burst, c->gateway_interval_s,
		    now_ms);
		ack_limit_give(g, c->gateway_burst);
	}
}
