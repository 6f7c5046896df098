/*
 * How often the relay answers a reply it did not understand: at most
 * one hint per number per interval, so that a person who keeps typing,
 * or another machine that answers every SMS, gets one hint and then
 * silence instead of a loop.  Only the numbers of known recipients get
 * here (ack.c), so a small table is enough; when it is full, the entry
 * seen longest ago makes room.
 */
#ifndef ALERTRELAY_ACK_HINT_H
#define ALERTRELAY_ACK_HINT_H

#include <stdint.h>

#define ACK_HINT_SLOTS 1024

struct ack_hint;

struct ack_hint *ack_hint_new(void);
void ack_hint_free(struct ack_hint *h);
/* 1 when number may get a hint now (and that is recorded), 0 when it
 * had one less than interval_ms ago. */
int ack_hint_take(struct ack_hint *h, const char *number, int64_t now_ms,
    int64_t interval_ms);

#endif
