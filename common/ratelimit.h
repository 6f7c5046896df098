/*
 * Token buckets, kept in a fixed table so that memory stays bounded
 * whatever an attacker sends: keys that collide share a bucket, which
 * only ever makes the limit stricter for them.
 */
#ifndef ALERTRELAY_RATELIMIT_H
#define ALERTRELAY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* rate tokens per second, up to burst; rate 0 disables the limit. */
struct ratelimit *ratelimit_new(double rate, double burst, size_t slots);
/* New limits (a reload), for the buckets as they are. */
void ratelimit_set(struct ratelimit *rl, double rate, double burst);
void ratelimit_free(struct ratelimit *rl);
/* 1 when key may go on now (a token was taken), 0 when over the limit. */
int ratelimit_take(struct ratelimit *rl, const void *key, size_t len,
    int64_t now_ms);

#endif
