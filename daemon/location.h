/*
 * Later positions of an open alert (docs/PROTOCOL.md, "Revision 3:
 * location while an alert is open"): the device's "location" frame, an
 * envelope like the alert's, sealed to the same recipients and signed
 * under its own context.  The relay checks it, keeps the sealed boxes
 * (the newest [location] keep of them, in the alert's hash, so the
 * alert's retention covers them) and sends alert.location to the
 * recipients the alert has reached.  It never sees a coordinate.
 */
#ifndef ALERTRELAY_LOCATION_H
#define ALERTRELAY_LOCATION_H

#include <jansson.h>

struct conn;

void location_conn_request(struct conn *c, const json_t *o);

#endif
