/*
 * Standard Webhooks signatures (https://www.standardwebhooks.com/):
 * webhook-signature: "v1," base64(HMAC-SHA256(secret, id "." ts "." body)).
 */
#ifndef ALERTRELAY_WEBHOOK_SIG_H
#define ALERTRELAY_WEBHOOK_SIG_H

#include <stddef.h>

/* Returns "v1,<base64>" (caller frees). */
char *webhook_sign(const unsigned char *key, size_t keylen, const char *id,
    const char *timestamp, const char *body, size_t bodylen);
/*
 * 0 when one of the space-separated signatures in header matches.
 * Constant-time comparison.
 */
int webhook_verify(const unsigned char *key, size_t keylen, const char *id,
    const char *timestamp, const char *body, size_t bodylen,
    const char *header);

#endif
