/*
 * Positions from gpsd (libgps), for send --follow (follow.h): the
 * socket is watched by the libevent loop (WATCH_ENABLE|WATCH_JSON) and
 * read only when readable, so the loop never waits for gpsd.
 */
#ifndef ALERTCTL_FOLLOW_GPS_H
#define ALERTCTL_FOLLOW_GPS_H

#include <stddef.h>
#include <time.h>

#include <event2/event.h>

#define FOLLOW_GPSD_DEFAULT "localhost:2947"

struct follow_fix {
	double lat, lon;
	int has_accuracy;
	double accuracy_m;
	time_t t; /* the time of the fix, by the receiver's clock */
};

struct follow_gps;

/* Connects to gpsd at host:port (one connect, before the loop runs);
 * NULL with why in err. */
struct follow_gps *follow_gps_open(struct event_base *base,
    const char *hostport, char *err, size_t errlen);
/* 1 and the newest fix when there is one not taken before, else 0. */
int follow_gps_take(struct follow_gps *g, struct follow_fix *out);
/* 1 when gpsd closed the connection (or sent nonsense). */
int follow_gps_lost(const struct follow_gps *g);
void follow_gps_free(struct follow_gps *g);

#endif
