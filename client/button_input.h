/*
 * The records an evdev node gives (struct input_event, <linux/input.h>),
 * cut out of whatever bytes a read returned: whole records as the kernel
 * gives them, or any bytes at all from a FIFO, a pty or a broken device.
 */
#ifndef ALERTCTL_BUTTON_INPUT_H
#define ALERTCTL_BUTTON_INPUT_H

#include <linux/input.h>
#include <stddef.h>

struct button_input {
	unsigned char buf[sizeof(struct input_event)];
	size_t have; /* bytes of a record not complete yet */
};

/* key(arg, code, value) for each EV_KEY record (value 0 release, 1
 * press, 2 repeat); other event types (EV_SYN, EV_MSC, EV_LED) are
 * skipped.  Returns how many records were malformed (a type or value no
 * kernel sends): skipped too, for the caller to log. */
size_t button_input_feed(struct button_input *in, const unsigned char *p,
    size_t n, void (*key)(void *arg, unsigned code, int value), void *arg);

#endif
