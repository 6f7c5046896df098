/*
 * A table of what the ack listener keeps per recipient (its log budget,
 * ack_quiet.h; its request bucket, ack_rate.h), keyed by the recipient's
 * id.  Recipients come from the configuration (a valid token's owner, a
 * recipient's number), never from what a client sends, so the table
 * grows with the directory only; ACK_RECIPIENTS_MAX bounds it all the
 * same, a reload that renames every recipient many times over at worst
 * starting it afresh (every entry as on its first use: as after a
 * restart).
 */
#ifndef ALERTRELAY_ACK_RECIPIENTS_H
#define ALERTRELAY_ACK_RECIPIENTS_H

#include <stddef.h>

struct ack_recipients;

/* Each entry holds size bytes for its owner. */
struct ack_recipients *ack_recipients_new(size_t size);
void ack_recipients_free(struct ack_recipients *t);
/* rid's bytes; made zero on its first use, and *made then 1. */
void *ack_recipients_get(struct ack_recipients *t, const char *rid, int *made);

#endif
