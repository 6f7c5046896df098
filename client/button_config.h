/*
 * The [button] section of alertctl.conf: which device is the panic
 * button (an evdev input node or a GPIO line), which key, how long it
 * must be held, what the alert says and where the desk is, and the
 * optional LED.  The rest of the file is client_config.c's.
 */
#ifndef ALERTCTL_BUTTON_CONFIG_H
#define ALERTCTL_BUTTON_CONFIG_H

#define BUTTON_HOLD_MS_DEFAULT 2000
#define BUTTON_HOLD_MS_MIN 100
#define BUTTON_HOLD_MS_MAX 30000

enum button_kind { BUTTON_EVDEV, BUTTON_GPIO };

struct button_config {
	enum button_kind kind;
	char *device; /* evdev node, or GPIO chip ("gpiochip0") */
	unsigned key; /* evdev key code */
	unsigned line; /* GPIO line offset */
	int active_low; /* GPIO: pressed reads 0 */
	long hold_ms;
	char *message; /* the alert's text, NULL: none */
	int has_location;
	double lat, lon;
	int has_accuracy;
	double accuracy_m;
	/* LED: evdev LED code on led_device (default: the button's node),
	 * or a GPIO output line on the chip; -1: none. */
	int led;
	char *led_device;
	/* Seconds the relay is told this path stays silent at most, so it
	 * raises device.offline when the button's path dies; 0: not. */
	long supervise_s;
	/* An acknowledgement that is only the relay's word (an SMS reply)
	 * frees the button too (accept_relay_ack, as send's
	 * --accept-relay-ack); else only a verified one does. */
	int accept_relay_ack;
};

/* Reads [button] of path; -1 (each problem logged with its line). */
int button_config_load(const char *path, struct button_config *bc);
void button_config_free(struct button_config *bc);

#endif
