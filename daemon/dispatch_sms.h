/*
 * The text of one SMS delivery: which template (raised, escalated,
 * acknowledged, cancelled) its event calls for, filled from the alert's
 * metadata as script_meta gives it.  Metadata only: who, what type,
 * when, the reference to answer with; never the alert's content.
 */
#ifndef ALERTRELAY_DISPATCH_SMS_H
#define ALERTRELAY_DISPATCH_SMS_H

#include <stddef.h>

#include <jansson.h>

#include "relay_config.h"
#include "store.h"

/* The text into out (SMS_TEXT_MAX bytes); empty when it cannot be made
 * (no valid reference), which sms_send() then refuses. */
void dispatch_sms_text(const struct relay_config *cfg, json_t *meta,
    const struct delivery_entry *e, char *out, size_t outlen);

#endif
