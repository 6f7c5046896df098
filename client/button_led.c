/*
 * The panic button's LED patterns (button_led.h): a mode, and a timer
 * that blinks it.
 */
#include <stdlib.h>

#include "button_led.h"
#include "evtimer_ms.h"
#include "log.h"
#include "xmalloc.h"

struct button_led {
	struct button_dev *dev;
	struct event *blink;
	enum button_led_mode mode;
	int lit;
};

static void
button_led_blink(evutil_socket_t fd, short what, void *arg)
{
	struct button_led *l = arg;

	(void)fd;
	(void)what;
	l->lit = !l->lit;
	button_dev_led(l->dev, l->lit);
	evtimer_add_ms(l->blink,
	    l->mode == BUTTON_LED_FAST ? BUTTON_LED_FAST_MS
	                               : BUTTON_LED_BLINK_MS);
}

struct button_led *
button_led_new(struct event_base *base, struct button_dev *dev)
{
	struct button_led *l = xcalloc(1, sizeof(*l));

	l->dev = dev;
	if ((l->blink = evtimer_new(base, button_led_blink, l)) == NULL)
		log_fatalx("evtimer_new failed");
	return l;
}

void
button_led_set(struct button_led *l, enum button_led_mode mode)
{
	if (mode == l->mode)
		return;
	l->mode = mode;
	evtimer_del(l->blink);
	if (mode == BUTTON_LED_BLINK || mode == BUTTON_LED_FAST) {
		button_led_blink(-1, 0, l);
		return;
	}
	l->lit = mode == BUTTON_LED_ON;
	button_dev_led(l->dev, l->lit);
}

void
button_led_free(struct button_led *l)
{
	if (l == NULL)
		return;
	event_free(l->blink);
	free(l);
}
