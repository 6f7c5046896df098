/*
 * Opening a sealed alert at the recipient: crypto_box_seal_open with the
 * recipient's key pair, then crypto_sign_open with the device's public
 * key, then the inner alert's JSON.
 */
#ifndef ALERTCTL_ALERT_OPEN_H
#define ALERTCTL_ALERT_OPEN_H

#include <stddef.h>

#include <sodium.h>

#include "alert.h"

/* 0 and *a filled (alert_clear it), or -1 with a reason that never
 * contains plaintext. */
int alert_open(const unsigned char *ct, size_t ctlen,
    const unsigned char rpk[crypto_box_PUBLICKEYBYTES],
    const unsigned char *rsk,
    const unsigned char dpk[crypto_sign_PUBLICKEYBYTES], struct alert *a,
    const char **reason);

#endif
