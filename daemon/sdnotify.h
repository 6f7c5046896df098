/*
 * systemd's notification protocol (sd_notify(3)): a datagram to
 * $NOTIFY_SOCKET.  Small enough to speak directly rather than link
 * libsystemd; every call is a no-op when not run by systemd.
 */
#ifndef ALERTRELAY_SDNOTIFY_H
#define ALERTRELAY_SDNOTIFY_H

#include <event2/event.h>

void sdnotify(const char *state);
/* In a worker (workers.h): every notification goes to the parent over
 * fd instead, and the parent speaks to systemd for all of them. */
void sdnotify_set_fd(int fd);
void sdnotify_status(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Sends WATCHDOG=1 from the event loop at half of $WATCHDOG_USEC, so a
 * hung loop stops the pings and systemd restarts us.  NULL if unset. */
struct event *sdnotify_watchdog_start(struct event_base *base);

#endif
