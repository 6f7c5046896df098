/*
 * Acknowledgements in receipts as the device's check found them
 * (receipt_ack.c); set as receipt.h's describer by ack_verify_open().
 */
#ifndef ALERTCTL_RECEIPT_ACK_H
#define ALERTCTL_RECEIPT_ACK_H

#include <stddef.h>

#include <jansson.h>

void receipt_ack_describe(const json_t *ev, const char *alert_id, int with_time,
    char *buf, size_t len);

#endif
