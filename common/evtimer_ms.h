/* Arming libevent timers in milliseconds, the unit the config uses. */
#ifndef ALERTRELAY_EVTIMER_MS_H
#define ALERTRELAY_EVTIMER_MS_H

#include <event2/event.h>

static inline void
evtimer_add_ms(struct event *ev, long ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

#endif
