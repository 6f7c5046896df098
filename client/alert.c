/*
 * The inner alert, what only the recipients can read: building and parsing
 * it (alert.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "alert.h"
#include "frame.h"
#include "wipealloc.h"
#include "xmalloc.h"

/* 15 significant digits: coordinates typed as decimals come back as the
 * same decimals, not as 52.369999999999997. */
#define ALERT_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

int
alert_location_valid(double lat, double lon, int has_accuracy,
    double accuracy_m)
{
	if (!isfinite(lat) || !isfinite(lon) || lat < -90 || lat > 90 ||
	    lon < -180 || lon > 180)
		return 0;
	return !has_accuracy || (isfinite(accuracy_m) && accuracy_m >= 0);
}

static json_t *
alert_location_json(const struct alert *a)
{
	if (!a->has_location)
		return json_null();
	return json_pack("{s:f, s:f, s:o}", "lat", a->lat, "lon", a->lon,
	    "accuracy_m",
	    a->has_accuracy ? json_real(a->accuracy_m) : json_null());
}

/* The message and location are what the relay must never see: jansson's
 * copies of them (its strings, the dump's growing buffer, the parser's)
 * are wiped as jansson frees them, and jansson's previous functions put
 * back after.  alertctl runs jansson on one thread. */
static void
alert_json_wipe(json_malloc_t *m, json_free_t *f)
{
	json_get_alloc_funcs(m, f);
	json_set_alloc_funcs(malloc, wipealloc_free);
}

static char *
alert_encode_json(const struct alert *a)
{
	json_t *o, *msg;
	char *s;

	if (a->message == NULL)
		msg = json_null();
	else if ((msg = json_string(a->message)) == NULL)
		return NULL; /* not UTF-8 */
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "alert_id", a->alert_id,
	    "device_id", a->device_id, "alert_type", a->alert_type, "message",
	    msg, "location", alert_location_json(a), "created_at",
	    a->created_at);
	if (o == NULL)
		return NULL;
	if (a->drill) /* absent otherwise: a real alert's bytes as before */
		json_object_set_new(o, "drill", json_true());
	if (a->update) /* likewise */
		json_object_set_new(o, "update", json_true());
	s = json_dumps(o, ALERT_JSON_FLAGS);
	json_decref(o);
	return s;
}

char *
alert_encode(const struct alert *a)
{
	json_malloc_t m;
	json_free_t f;
	char *s;

	alert_json_wipe(&m, &f);
	s = alert_encode_json(a);
	json_set_alloc_funcs(m, f);
	return s;
}

static int
alert_decode_location(const json_t *loc, struct alert *a)
{
	json_t *lat, *lon, *acc;

	if (json_is_null(loc))
		return 0;
	if (!json_is_object(loc))
		return -1;
	lat = json_object_get(loc, "lat");
	lon = json_object_get(loc, "lon");
	acc = json_object_get(loc, "accuracy_m");
	if (!json_is_number(lat) || !json_is_number(lon) ||
	    (acc != NULL && !json_is_null(acc) && !json_is_number(acc)))
		return -1;
	a->has_location = 1;
	a->lat = json_number_value(lat);
	a->lon = json_number_value(lon);
	a->has_accuracy = json_is_number(acc);
	a->accuracy_m = a->has_accuracy ? json_number_value(acc) : 0;
	return alert_location_valid(a->lat, a->lon, a->has_accuracy,
	           a->accuracy_m)
	    ? 0
	    : -1;
}

static int
alert_decode_fields(const json_t *o, struct alert *a, char *err, size_t errlen)
{
	json_t *msg = json_object_get(o, "message");
	json_t *drill = json_object_get(o, "drill");
	json_t *update = json_object_get(o, "update");

	if (json_str_copy(o, "alert_id", a->alert_id, sizeof(a->alert_id)) !=
	        0 ||
	    json_str_copy(o, "device_id", a->device_id, sizeof(a->device_id)) !=
	        0 ||
	    json_str_copy(o, "alert_type", a->alert_type,
	        sizeof(a->alert_type)) != 0 ||
	    json_str_copy(o, "created_at", a->created_at,
	        sizeof(a->created_at)) != 0) {
		snprintf(err, errlen, "inner alert: missing or bad field");
		return -1;
	}
	if (msg == NULL || (!json_is_null(msg) && !json_is_string(msg))) {
		snprintf(err, errlen, "inner alert: bad message");
		return -1;
	}
	if (drill != NULL && !json_is_boolean(drill)) {
		snprintf(err, errlen, "inner alert: bad drill");
		return -1;
	}
	if (update != NULL && !json_is_boolean(update)) {
		snprintf(err, errlen, "inner alert: bad update");
		return -1;
	}
	a->drill = json_is_true(drill);
	a->update = json_is_true(update);
	if (json_is_string(msg))
		a->message = xstrdup(json_string_value(msg));
	if (alert_decode_location(json_object_get(o, "location"), a) != 0) {
		snprintf(err, errlen, "inner alert: bad location");
		return -1;
	}
	return 0;
}

int
alert_decode(const char *json, size_t len, struct alert *a, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_malloc_t m;
	json_free_t f;
	json_t *o;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	alert_json_wipe(&m, &f);
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o))
		snprintf(err, errlen, "inner alert: not a JSON object");
	else
		rc = alert_decode_fields(o, a, err, errlen);
	json_decref(o);
	json_set_alloc_funcs(m, f);
	sodium_memzero(&jerr, sizeof(jerr)); /* may quote the text */
	if (rc != 0)
		alert_clear(a);
	return rc;
}

void
alert_clear(struct alert *a)
{
	if (a->message != NULL) {
		sodium_memzero(a->message, strlen(a->message));
		free(a->message);
	}
	sodium_memzero(a, sizeof(*a));
}
