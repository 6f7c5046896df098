/*
 * What the panic button's LED shows, for an official who has only the
 * button to look at: off (ready, nothing open), blinking (an alert is
 * raised but no relay has it yet), on (a relay has it: accepted or
 * delivered, until acknowledged), blinking fast (every relay refuses
 * this device: no alarm gets through, call 112).
 */
#ifndef ALERTCTL_BUTTON_LED_H
#define ALERTCTL_BUTTON_LED_H

#include <event2/event.h>

#include "button_dev.h"

#define BUTTON_LED_BLINK_MS 500
#define BUTTON_LED_FAST_MS 125

enum button_led_mode {
	BUTTON_LED_OFF,
	BUTTON_LED_BLINK,
	BUTTON_LED_ON,
	BUTTON_LED_FAST,
};

struct button_led *button_led_new(struct event_base *base,
    struct button_dev *dev);
void button_led_set(struct button_led *l, enum button_led_mode mode);
void button_led_free(struct button_led *l);

#endif
