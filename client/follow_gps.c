/*
 * gpsd as the source of send --follow's positions (follow_gps.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gps.h>

#include "follow_gps.h"
#include "log.h"
#include "xmalloc.h"

/* Lines handled per readable event at most: the loop goes on. */
#define FOLLOW_GPS_READS 64

struct follow_gps {
	struct gps_data_t data;
	struct event *ev;
	int open;
	int lost;
	int fresh; /* fix not taken yet */
	struct follow_fix fix;
};

/* A fix worth sending: 2D or better, plausible coordinates. */
static void
follow_gps_note(struct follow_gps *g)
{
	const struct gps_fix_t *f = &g->data.fix;

	if (!(g->data.set & (LATLON_SET | MODE_SET)) || f->mode < MODE_2D ||
	    !isfinite(f->latitude) || !isfinite(f->longitude) ||
	    fabs(f->latitude) > 90 || fabs(f->longitude) > 180)
		return;
	g->fix.lat = f->latitude;
	g->fix.lon = f->longitude;
	g->fix.has_accuracy = isfinite(f->eph) && f->eph >= 0;
	g->fix.accuracy_m = g->fix.has_accuracy ? f->eph : 0;
	g->fix.t = f->time.tv_sec;
	g->fresh = 1;
}

static void
follow_gps_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct follow_gps *g = arg;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < FOLLOW_GPS_READS; i++) {
		int n = gps_read(&g->data, NULL, 0);

		if (n == -1) { /* gpsd closed it, or a hard error */
			g->lost = 1;
			event_del(g->ev);
			return;
		}
		if (n == 0) /* no whole line yet (EAGAIN counts as 0) */
			break;
		follow_gps_note(g);
		/* more lines buffered or readable (never waits: timeout 0,
		 * and the socket is non-blocking) */
		if (!gps_waiting(&g->data, 0))
			break;
	}
}

struct follow_gps *
follow_gps_open(struct event_base *base, const char *hostport, char *err,
    size_t errlen)
{
	struct follow_gps *g = xcalloc(1, sizeof(*g));
	char host[256];
	const char *colon = strrchr(hostport, ':');
	const char *port = colon != NULL ? colon + 1 : "2947";
	size_t hl =
	    colon != NULL ? (size_t)(colon - hostport) : strlen(hostport);

	snprintf(host, sizeof(host), "%.*s", (int)hl, hostport);
	if (gps_open(host, port, &g->data) != 0) {
		snprintf(err, errlen, "%s", gps_errstr(errno));
		free(g);
		return NULL;
	}
	g->open = 1;
	if (gps_stream(&g->data, WATCH_ENABLE | WATCH_JSON, NULL) != 0) {
		snprintf(err, errlen, "%s", gps_errstr(errno));
		follow_gps_free(g);
		return NULL;
	}
	/* libgps reads what is there and returns 0 on EAGAIN: with the
	 * socket non-blocking, a partial line never makes it wait. */
	if (evutil_make_socket_nonblocking(g->data.gps_fd) != 0) {
		snprintf(err, errlen,
		    "cannot make the gpsd socket non-blocking");
		follow_gps_free(g);
		return NULL;
	}
	g->ev = event_new(base, g->data.gps_fd, EV_READ | EV_PERSIST,
	    follow_gps_read_cb, g);
	if (g->ev == NULL || event_add(g->ev, NULL) != 0)
		log_fatalx("event_new failed");
	return g;
}

int
follow_gps_take(struct follow_gps *g, struct follow_fix *out)
{
	if (!g->fresh)
		return 0;
	*out = g->fix;
	g->fresh = 0;
	return 1;
}

int
follow_gps_lost(const struct follow_gps *g)
{
	return g->lost;
}

void
follow_gps_free(struct follow_gps *g)
{
	if (g == NULL)
		return;
	if (g->ev != NULL)
		event_free(g->ev);
	if (g->open) {
		(void)gps_stream(&g->data, WATCH_DISABLE, NULL);
		gps_close(&g->data);
	}
	free(g);
}
