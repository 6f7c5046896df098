/*
 * The panic button's device (button_dev.h): opening, grabbing, reading
 * and reopening it on the event loop, and its LED.
 *
 * An evdev node is grabbed (EVIOCGRAB) so that the key the button sends
 * never reaches a desktop session as a keystroke.  Anything that is not
 * an evdev node (a FIFO in the tests) is read the same way, ungrabbed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "button_dev.h"
#include "button_gpio.h"
#include "button_input.h"
#include "evtimer_ms.h"
#include "log.h"
#include "xmalloc.h"

#define BUTTON_DEV_READ 4096
#define BUTTON_DEV_BAD_LOG_MAX 5 /* malformed-record lines per outage */

struct button_dev {
	const struct button_config *bc;
	struct button_dev_hooks hooks;
	struct event_base *base;
	struct event *ev; /* readable */
	struct event *reopen;
	int fd; /* -1: closed */
	int led_fd; /* evdev LED on led_device; -1: none or closed */
	struct button_gpio *gpio;
	struct button_input in;
	int down;
	int gone; /* lost, said once, not back yet */
	int bad_logged;
	long backoff_ms;
};

static void button_dev_read(evutil_socket_t fd, short what, void *arg);
static void button_dev_back(struct button_dev *d);

static void
button_dev_key(void *arg, unsigned code, int value)
{
	struct button_dev *d = arg;

	if (code != d->bc->key) {
		log_debug("button: key %u ignored (configured: %u)", code,
		    d->bc->key);
		return;
	}
	if (value == 2 || (value == 1) == d->down)
		return; /* autorepeat, or no change */
	d->down = value == 1;
	d->hooks.key(d->hooks.arg, d->down);
}

/* An evdev node (or a stand-in); -1 with errno. */
static int
button_dev_open_evdev(struct button_dev *d)
{
	struct stat st;
	int fd,
	    flags = d->bc->led >= 0 && d->bc->led_device == NULL ? O_RDWR
	                                                         : O_RDONLY;

	if ((fd = open(d->bc->device, flags | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode))
		return fd; /* a stand-in: back once it gives bytes */
	if (ioctl(fd, EVIOCGRAB, (void *)1) != 0)
		/* Another program holds it: presses still reach us, and
		 * also that program. */
		log_warn("button: %s: cannot grab it", d->bc->device);
	button_dev_back(d);
	return fd;
}

static int
button_dev_open(struct button_dev *d)
{
	int fd;

	memset(&d->in, 0, sizeof(d->in));
	if (d->bc->kind == BUTTON_GPIO) {
		if ((d->gpio = button_gpio_open(d->bc, &fd)) == NULL)
			return -1;
	} else if ((fd = button_dev_open_evdev(d)) < 0)
		return -1;
	d->fd = fd;
	d->ev =
	    event_new(d->base, fd, EV_READ | EV_PERSIST, button_dev_read, d);
	if (d->ev == NULL || event_add(d->ev, NULL) != 0)
		log_fatalx("button: cannot watch the device");
	return 0;
}

static void
button_dev_close(struct button_dev *d)
{
	if (d->ev != NULL)
		event_free(d->ev);
	d->ev = NULL;
	if (d->gpio != NULL)
		button_gpio_close(d->gpio);
	else if (d->fd >= 0)
		close(d->fd);
	d->gpio = NULL;
	d->fd = -1;
	if (d->led_fd >= 0)
		close(d->led_fd);
	d->led_fd = -1;
}

static void
button_dev_schedule(struct button_dev *d)
{
	evtimer_add_ms(d->reopen, d->backoff_ms);
	d->backoff_ms *= 2;
	if (d->backoff_ms > BUTTON_DEV_BACKOFF_MAX_MS)
		d->backoff_ms = BUTTON_DEV_BACKOFF_MAX_MS;
}

/* Gone (unplugged, EOF, an error): a held key is let go, which stops a
 * hold that had not lasted long enough; then reopen with backoff. */
static void
button_dev_lost(struct button_dev *d, const char *why)
{
	if (!d->gone)
		log_warnx("button: %s gone (%s); trying to reopen it",
		    d->bc->device, why);
	d->gone = 1;
	d->bad_logged = 0;
	button_dev_close(d);
	if (d->down) {
		d->down = 0;
		d->hooks.key(d->hooks.arg, 0);
	}
	button_dev_schedule(d);
}

static void
button_dev_back(struct button_dev *d)
{
	if (d->gone)
		log_info("button: %s is back", d->bc->device);
	d->gone = 0;
	d->backoff_ms = BUTTON_DEV_BACKOFF_MIN_MS;
}

static void
button_dev_reopen(evutil_socket_t fd, short what, void *arg)
{
	struct button_dev *d = arg;

	(void)fd;
	(void)what;
	if (button_dev_open(d) != 0) {
		if (!d->gone)
			log_warn("button: cannot open %s; trying again",
			    d->bc->device);
		else
			log_debug("button: %s still gone", d->bc->device);
		d->gone = 1;
		button_dev_schedule(d);
	} else if (d->bc->kind == BUTTON_GPIO)
		button_dev_back(d);
}

static void
button_dev_read_gpio(struct button_dev *d)
{
	int down = button_gpio_read(d->gpio);

	if (down < 0) {
		if (errno != EAGAIN && errno != EINTR)
			button_dev_lost(d, strerror(errno));
		return;
	}
	if (down != d->down) {
		d->down = down;
		d->hooks.key(d->hooks.arg, down);
	}
}

static void
button_dev_read_evdev(struct button_dev *d)
{
	unsigned char buf[BUTTON_DEV_READ];
	ssize_t n = read(d->fd, buf, sizeof(buf));
	size_t bad;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		button_dev_lost(d, n == 0 ? "end of file" : strerror(errno));
		return;
	}
	button_dev_back(d);
	bad = button_input_feed(&d->in, buf, (size_t)n, button_dev_key, d);
	if (bad > 0 && d->bad_logged++ < BUTTON_DEV_BAD_LOG_MAX)
		log_warnx("button: %s: %zu malformed input record(s) "
		          "skipped: is this the button's event node?",
		    d->bc->device, bad);
}

static void
button_dev_read(evutil_socket_t fd, short what, void *arg)
{
	struct button_dev *d = arg;

	(void)fd;
	(void)what;
	if (d->gpio != NULL)
		button_dev_read_gpio(d);
	else
		button_dev_read_evdev(d);
}

struct button_dev *
button_dev_new(struct event_base *base, const struct button_config *bc,
    const struct button_dev_hooks *hooks)
{
	struct button_dev *d = xcalloc(1, sizeof(*d));

	d->bc = bc;
	d->hooks = *hooks;
	d->base = base;
	d->fd = d->led_fd = -1;
	d->backoff_ms = BUTTON_DEV_BACKOFF_MIN_MS;
	if ((d->reopen = evtimer_new(base, button_dev_reopen, d)) == NULL)
		log_fatalx("evtimer_new failed");
	evtimer_add_ms(d->reopen, 0);
	return d;
}

static int
button_dev_led_evdev(struct button_dev *d, int on)
{
	struct input_event ev[2];
	int fd = d->fd;

	if (d->bc->led_device != NULL) {
		if (d->led_fd < 0)
			d->led_fd = open(d->bc->led_device,
			    O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		fd = d->led_fd;
	}
	if (fd < 0)
		return -1;
	memset(ev, 0, sizeof(ev));
	gettimeofday(&ev[0].time, NULL);
	ev[0].type = EV_LED;
	ev[0].code = (unsigned short)d->bc->led;
	ev[0].value = on;
	ev[1].time = ev[0].time;
	ev[1].type = EV_SYN;
	ev[1].code = SYN_REPORT;
	return write(fd, ev, sizeof(ev)) == (ssize_t)sizeof(ev) ? 0 : -1;
}

void
button_dev_led(struct button_dev *d, int on)
{
	int rc;

	if (d->bc->led < 0)
		return;
	if (d->bc->kind == BUTTON_GPIO)
		rc = d->gpio != NULL ? button_gpio_led(d->gpio, on) : -1;
	else
		rc = button_dev_led_evdev(d, on);
	if (rc != 0)
		log_debug("button: LED not set");
}

void
button_dev_free(struct button_dev *d)
{
	if (d == NULL)
		return;
	button_dev_close(d);
	event_free(d->reopen);
	free(d);
}
