/*
 * Webhook messages to recipients, per Standard Webhooks: a JSON body, a
 * webhook-id that is the same on every attempt of one event to one
 * recipient (so receivers can drop duplicates), a fresh timestamp and an
 * HMAC signature per attempt.
 */
#ifndef ALERTRELAY_WEBHOOK_H
#define ALERTRELAY_WEBHOOK_H

#include <stddef.h>

#include <jansson.h>

#include "relay_config.h"

#define WEBHOOK_ID_LEN 37 /* "msg_" + 32 hex + NUL */
#define WEBHOOK_NHEADERS 4

void webhook_id(const char *event, const char *alert_id,
    const char *recipient_id, const char *tier, char out[WEBHOOK_ID_LEN]);
/* The body for event about alert_id to recipient (caller frees); meta
 * is the alert as store_scripts.c's script_meta describes it;
 * device_alias the sending device's alias (its id when it has none). */
char *webhook_body(const char *event, const char *alert_id, const json_t *meta,
    const char *recipient_id, const char *tier, const char *device_alias);
/* Headers for one attempt; free with webhook_headers_free(). */
void webhook_headers(const struct recipient_entry *r, const char *id,
    const char *body, size_t bodylen, char *headers[WEBHOOK_NHEADERS]);
void webhook_headers_free(char *headers[WEBHOOK_NHEADERS]);

#endif
