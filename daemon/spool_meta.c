/*
 * The alert as a delivery from the local spool sees it (spool_meta.h):
 * the same fields script_meta gives a delivery from Redis.
 */
#include <stdio.h>

#include "spool_meta.h"
#include "store.h"

void
spool_meta_event(const json_t *args, struct delivery_entry *e)
{
	const char *event = json_string_value(json_object_get(args, "event"));
	const char *tier = json_string_value(json_object_get(args, "tier"));

	snprintf(e->event, sizeof(e->event), "%s",
	    event != NULL ? event : "alert.raised");
	snprintf(e->tier, sizeof(e->tier), "%s", tier != NULL ? tier : "0");
}

json_t *
spool_meta(const json_t *args, const char *rid)
{
	json_t *meta;

	meta = json_pack("{s:b, s:b, s:s, s:O, s:O, s:O, s:O, s:O, s:O}",
	    "exists", 1, "done", 0, "state", "open", "device_id",
	    json_object_get(args, "dev"), "alert_type",
	    json_object_get(args, "type"), "created_at",
	    json_object_get(args, "created"), "received_at",
	    json_object_get(args, "received"), "ref",
	    json_object_get(args, "ref_local"), "envelope_hash",
	    json_object_get(args, "hash"));
	json_object_set_new(meta, "drill",
	    json_boolean(json_object_get(args, "drill") != NULL));
	json_object_set(meta, "ciphertext",
	    json_object_get(json_object_get(args, "cts"), rid));
	/* as script_ingest marks it: duress since it was received */
	if (json_object_get(args, "duress") != NULL) {
		json_object_set_new(meta, "duress", json_true());
		json_object_set(meta, "duress_at",
		    json_object_get(args, "received"));
	}
	return meta;
}
