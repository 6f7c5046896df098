/*
 * Cutting evdev records out of a byte stream (button_input.h).  Nothing
 * here trusts the bytes: a record is taken field by field, and one that
 * no kernel would send is counted and dropped.
 */
#include <string.h>

#include "button_input.h"

static int
button_input_record(const struct input_event *ev,
    void (*key)(void *arg, unsigned code, int value), void *arg)
{
	if (ev->type > EV_MAX)
		return 1;
	if (ev->type != EV_KEY)
		return 0;
	if (ev->code > KEY_MAX || ev->value < 0 || ev->value > 2)
		return 1;
	key(arg, ev->code, ev->value);
	return 0;
}

size_t
button_input_feed(struct button_input *in, const unsigned char *p, size_t n,
    void (*key)(void *arg, unsigned code, int value), void *arg)
{
	struct input_event ev;
	size_t take, bad = 0;

	while (n > 0) {
		take = sizeof(in->buf) - in->have;
		if (take > n)
			take = n;
		memcpy(in->buf + in->have, p, take);
		in->have += take;
		p += take;
		n -= take;
		if (in->have < sizeof(in->buf))
			break;
		memcpy(&ev, in->buf, sizeof(ev));
		in->have = 0;
		bad += (size_t)button_input_record(&ev, key, arg);
	}
	return bad;
}
