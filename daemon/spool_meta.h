/*
 * What a delivery from the local spool needs to know about its alert,
 * taken from the ingest script's arguments as script_meta would take it
 * from Redis: the event and tier the alert was planned with (a check-in
 * released under duress is alert.duress at every tier, ingest.c), and
 * the duress mark, so that its receivers and SMS say so from the first
 * notification and not only once Redis repeats it.
 */
#ifndef ALERTRELAY_SPOOL_META_H
#define ALERTRELAY_SPOOL_META_H

#include <jansson.h>

struct delivery_entry;

/* The event ("alert.raised" unless args says otherwise) and tier of the
 * first notifications into e. */
void spool_meta_event(const json_t *args, struct delivery_entry *e);
/* The alert's fields for recipient rid's notification (a new reference). */
json_t *spool_meta(const json_t *args, const char *rid);

#endif
