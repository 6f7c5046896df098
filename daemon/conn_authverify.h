/*
 * The signature of a device's auth frame checked the same way whether
 * the id it claims is enrolled or not.  Anyone who reaches the device
 * port may try ids made from officials' names (`alertctl device add
 * Burgemeester-A` enrolls burgemeester-a); neither the answer nor the
 * time it takes may tell which ids are enrolled (docs/SECURITY.md).
 */
#ifndef ALERTRELAY_CONN_AUTHVERIFY_H
#define ALERTRELAY_CONN_AUTHVERIFY_H

struct conn;
struct device_entry;

/* 0 when sig (base64) verifies over c's challenge and TLS binding with
 * dev's key.  dev NULL (an id nobody enrolled): checked against a fixed
 * key no device holds, so as much work is done, and -1. */
int conn_authverify(struct conn *c, const char *sig,
    const struct device_entry *dev);

#endif
