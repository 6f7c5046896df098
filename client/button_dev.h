/*
 * The panic button's device, whichever kind: an evdev input node (a USB
 * panic button is a keyboard) or a GPIO line.  It reports the configured
 * key going down and up, drives the LED if there is one, and survives
 * the device going away (unplugged): it reopens it with backoff and
 * says so once.
 */
#ifndef ALERTCTL_BUTTON_DEV_H
#define ALERTCTL_BUTTON_DEV_H

#include <event2/event.h>

#include "button_config.h"

#define BUTTON_DEV_BACKOFF_MIN_MS 500
#define BUTTON_DEV_BACKOFF_MAX_MS 30000

struct button_dev_hooks {
	/* down: 1 pressed, 0 released (also when the device went away
	 * while it was pressed). */
	void (*key)(void *arg, int down);
	void *arg;
};

/* Opens it now or, failing that, later: never NULL. */
struct button_dev *button_dev_new(struct event_base *base,
    const struct button_config *bc, const struct button_dev_hooks *hooks);
void button_dev_led(struct button_dev *d, int on);
void button_dev_free(struct button_dev *d);

#endif
