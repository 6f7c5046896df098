/* systemd's notification protocol, spoken directly (sdnotify.h). */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"
#include "util.h"

/* A worker's end of its channel to the parent (workers.c); -1: none. */
static int sdnotify_fd = -1;

void
sdnotify_set_fd(int fd)
{
	sdnotify_fd = fd;
}

void
sdnotify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;
	int fd;

	if (sdnotify_fd >= 0) {
		/* The parent reads it whole or not at all: never blocks. */
		if (send(sdnotify_fd, state, strlen(state),
		        MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
			log_debug("notify parent: %s", strerror(errno));
		return;
	}
	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (plen = strlen(path)) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@') /* abstract namespace */
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	        (struct sockaddr *)&sun, len) == -1)
		log_debug("sd_notify: %s", strerror(errno));
	close(fd);
}

void
sdnotify_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	sdnotify(buf);
}

static void
sdnotify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sdnotify("WATCHDOG=1");
}

struct event *
sdnotify_watchdog_start(struct event_base *base)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	struct event *ev;
	struct timeval tv;
	long v, half;

	if (usec == NULL || parse_long(usec, 1, 3600L * 1000000, &v) != 0)
		return NULL;
	if (pid != NULL && atol(pid) != (long)getpid())
		return NULL;
	half = v / 2;
	tv.tv_sec = half / 1000000;
	tv.tv_usec = half % 1000000;
	ev = event_new(base, -1, EV_PERSIST, sdnotify_watchdog_cb, NULL);
	event_add(ev, &tv);
	log_info("systemd watchdog: pinging every %ld ms", half / 1000);
	return ev;
}
