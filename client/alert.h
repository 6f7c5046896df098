/*
 * The inner alert: what only the recipients can read.
 *
 *	{"alert_id","device_id","alert_type","message":STRING|null,
 *	 "location":{"lat","lon","accuracy_m":NUMBER|null}|null,"created_at"
 *	 [,"drill":true]}
 *
 * A drill says so inside too, signed by the device: a receiver compares
 * it with the webhook's "drill", so a relay cannot flip it unnoticed.
 */
#ifndef ALERTCTL_ALERT_H
#define ALERTCTL_ALERT_H

#include <stddef.h>

#include "envelope.h"
#include "util.h"

#define ALERT_MESSAGE_MAX 4096 /* bytes of UTF-8 */

struct alert {
	char alert_id[33];
	char device_id[ID_MAX + 1];
	char alert_type[ALERT_TYPE_MAX + 1];
	char created_at[RFC3339_LEN];
	int drill; /* a rehearsal (OEFENING) */
	int update; /* a later position of the alert, not the alert */
	char *message; /* NULL: no message */
	int has_location;
	double lat, lon;
	int has_accuracy;
	double accuracy_m;
};

/* 1 when lat/lon/accuracy are plausible coordinates. */
int alert_location_valid(double lat, double lon, int has_accuracy,
    double accuracy_m);
/* The JSON text (caller wipes and frees); NULL when message is not
 * valid UTF-8. */
char *alert_encode(const struct alert *a);
/* Parses and checks an inner alert; -1 with a reason in err. */
int alert_decode(const char *json, size_t len, struct alert *a, char *err,
    size_t errlen);
/* Wipes and frees what alert_decode allocated. */
void alert_clear(struct alert *a);

#endif
