/*
 * The rate of HTTPS requests a recipient's token can make on the ack
 * listener (acknowledgements and inbox reads): a token bucket per
 * recipient, checked before any Redis work.  A leaked token could
 * otherwise make the relay run a Redis script per request, as fast as
 * connections from many addresses allow, and that work competes with
 * alert intake.  Buckets are kept per configured recipient (a valid
 * token's owner), never per token string a client sends, so the table
 * grows with the directory only.  Defaults ([ack] recipient_burst = 30,
 * recipient_rate = 5 a second): a contact point's console with several
 * operators acknowledging at once, each a request, and their pages
 * reading the inbox, stays far below them.
 */
#ifndef ALERTRELAY_ACK_RATE_H
#define ALERTRELAY_ACK_RATE_H

#include <stdint.h>

struct ack_rate;

struct ack_rate *ack_rate_new(void);
void ack_rate_free(struct ack_rate *ar);

/* 1 if rid may make a request now (a token taken); 0 if its bucket is
 * empty, *retry_s then the seconds until it holds one (at least 1). */
int ack_rate_take(struct ack_rate *ar, const char *rid, long burst,
    long rate_per_s, int64_t now_ms, long *retry_s);

#endif
