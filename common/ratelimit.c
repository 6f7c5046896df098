/*
 * Token buckets in a fixed table, bounded whatever an attacker sends
 * (ratelimit.h).
 */
#include <stdlib.h>
#include <string.h>

#include "keyhash.h"
#include "ratelimit.h"
#include "xmalloc.h"

struct bucket {
	double tokens;
	int64_t at_ms;
};

struct ratelimit {
	double rate, burst;
	size_t slots;
	struct bucket *b;
	struct keyhash key;
};

struct ratelimit *
ratelimit_new(double rate, double burst, size_t slots)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	rl->rate = rate;
	rl->burst = burst;
	rl->slots = slots;
	rl->b = xcalloc(slots, sizeof(*rl->b));
	/* A keyed hash: nobody can aim many sources at one bucket. */
	keyhash_init(&rl->key);
	return rl;
}

void
ratelimit_set(struct ratelimit *rl, double rate, double burst)
{
	/* Buckets keep their tokens; the next take caps them at burst. */
	rl->rate = rate;
	rl->burst = burst;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->b);
	free(rl);
}

int
ratelimit_take(struct ratelimit *rl, const void *key, size_t len,
    int64_t now_ms)
{
	struct bucket *b;

	if (rl == NULL || rl->rate <= 0)
		return 1;
	b = &rl->b[keyhash(&rl->key, key, len) % rl->slots];
	if (b->at_ms == 0)
		b->tokens = rl->burst;
	else
		b->tokens += (double)(now_ms - b->at_ms) / 1000.0 * rl->rate;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	b->at_ms = now_ms;
	if (b->tokens < 1.0)
		return 0;
	b->tokens -= 1.0;
	return 1;
}
