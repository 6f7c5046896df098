/*
 * The panic button on a GPIO line (button_gpio.h), for a button wired to
 * a small board rather than plugged in by USB.  libgpiod's v1 API, as
 * Debian bookworm ships it; the chip's character device, never sysfs.
 */
#include <errno.h>
#include <stdlib.h>

#include <gpiod.h>

#include "button_gpio.h"
#include "xmalloc.h"

#define BUTTON_GPIO_CONSUMER "alertctl-button"

struct button_gpio {
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	struct gpiod_line *led; /* NULL: none */
};

struct button_gpio *
button_gpio_open(const struct button_config *bc, int *fd)
{
	struct button_gpio *g = xcalloc(1, sizeof(*g));
	int flags = bc->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;

	if ((g->chip = gpiod_chip_open_lookup(bc->device)) == NULL)
		goto fail;
	if ((g->line = gpiod_chip_get_line(g->chip, bc->line)) == NULL ||
	    gpiod_line_request_both_edges_events_flags(g->line,
	        BUTTON_GPIO_CONSUMER, flags) != 0)
		goto fail;
	if ((*fd = gpiod_line_event_get_fd(g->line)) < 0)
		goto fail;
	/* The LED is optional: a missing line leaves the button working. */
	if (bc->led >= 0 &&
	    ((g->led = gpiod_chip_get_line(g->chip, (unsigned)bc->led)) ==
	            NULL ||
	        gpiod_line_request_output(g->led, BUTTON_GPIO_CONSUMER, 0) !=
	            0))
		g->led = NULL;
	return g;
fail:
	button_gpio_close(g);
	return NULL;
}

int
button_gpio_read(struct button_gpio *g)
{
	struct gpiod_line_event ev;

	if (gpiod_line_event_read_fd(gpiod_line_event_get_fd(g->line), &ev) !=
	    0)
		return -1;
	/* With ACTIVE_LOW, libgpiod reports a press as a rising edge. */
	return ev.event_type == GPIOD_LINE_EVENT_RISING_EDGE;
}

int
button_gpio_led(struct button_gpio *g, int on)
{
	if (g->led == NULL) {
		errno = ENODEV;
		return -1;
	}
	return gpiod_line_set_value(g->led, on);
}

void
button_gpio_close(struct button_gpio *g)
{
	int saved = errno;

	if (g == NULL)
		return;
	if (g->chip != NULL)
		gpiod_chip_close(g->chip); /* releases the lines */
	free(g);
	errno = saved;
}
