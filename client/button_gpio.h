/*
 * The panic button on a GPIO line (libgpiod, v1 API): edge events on a
 * pollable fd, and an optional LED on an output line of the same chip.
 */
#ifndef ALERTCTL_BUTTON_GPIO_H
#define ALERTCTL_BUTTON_GPIO_H

#include "button_config.h"

struct button_gpio;

/* NULL with errno set; *fd: the descriptor to poll for edges. */
struct button_gpio *button_gpio_open(const struct button_config *bc, int *fd);
/* One edge: 1 pressed, 0 released; -1 with errno (EAGAIN: none). */
int button_gpio_read(struct button_gpio *g);
/* -1 with errno when the LED line cannot be set. */
int button_gpio_led(struct button_gpio *g, int on);
void button_gpio_close(struct button_gpio *g);

#endif
