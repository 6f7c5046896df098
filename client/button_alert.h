/*
 * The panic button's alert: raised by a hold, kept in the outbox and
 * sent over the run's sessions (the same outbox, queue and session code
 * as send and watch), followed until it is closed.  While it is open a
 * new hold raises nothing new: it reports the open one.
 */
#ifndef ALERTCTL_BUTTON_ALERT_H
#define ALERTCTL_BUTTON_ALERT_H

#include "button_config.h"
#include "button_led.h"
#include "device.h"
#include "relay_run.h"

struct button_alert;

/* NULL when there is no outbox or TLS (logged). */
struct button_alert *button_alert_new(struct device *d,
    const struct button_config *bc);
/* The run (its loop is where the button lives too). */
struct relay_run *button_alert_run(struct button_alert *ba);
void button_alert_led(struct button_alert *ba, struct button_led *led);
/* A hold lasted long enough. */
void button_alert_raise(struct button_alert *ba);
void button_alert_free(struct button_alert *ba);

#endif
