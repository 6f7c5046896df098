/*
 * Receipts as a device tells them: acknowledgements as the device's
 * check (ack_verify.h) found them (receipt_ack.c).
 */
#ifndef ALERTCTL_RECEIPT_ACK_H
#define ALERTCTL_RECEIPT_ACK_H

#include <stddef.h>

#include <jansson.h>

struct ack_verifier;

/* receipt_describe() with av's check of an acknowledgement. */
void receipt_ack_line(struct ack_verifier *av, const json_t *ev,
    const char *alert_id, int with_time, char *buf, size_t len);

#endif
