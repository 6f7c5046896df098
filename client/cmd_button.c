/*
 * alertctl button: the panic button at an official's desk.  Watches an
 * input device (a USB panic button is a keyboard) or a GPIO line, and
 * when the configured key is held for the configured time ([button]
 * hold, 2 s by default: a brush against it raises nothing) raises a
 * panic alert with the configured text and place (button_alert.h).  The
 * outcome goes to the log and to the button's LED (button_led.h).
 *
 * Everything happens on one event loop: the button is read while the
 * relay is connecting, sending or gone.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alertctl.h"
#include "button_alert.h"
#include "button_config.h"
#include "button_dev.h"
#include "button_led.h"
#include "device.h"
#include "evtimer_ms.h"
#include "i18n.h"
#include "log.h"
#include "out.h"
#include "usage.h"
#include "util.h"

struct button_run {
	const struct button_config *bc;
	struct button_alert *alert;
	struct event *hold; /* pending while the key is down, not long enough */
	int64_t down_ms; /* monotonic, when it went down */
	int held; /* this press raised (or reported) already */
};

static void
button_held(evutil_socket_t fd, short what, void *arg)
{
	struct button_run *br = arg;

	(void)fd;
	(void)what;
	br->held = 1;
	button_alert_raise(br->alert);
}

static void
button_key(void *arg, int down)
{
	struct button_run *br = arg;
	double s;

	if (down) {
		br->down_ms = monotonic_ms();
		br->held = 0;
		evtimer_add_ms(br->hold, br->bc->hold_ms);
		log_debug("button: down");
		return;
	}
	if (br->held || !evtimer_pending(br->hold, NULL))
		return;
	evtimer_del(br->hold);
	s = (double)(monotonic_ms() - br->down_ms) / 1000.0;
	out_line(_("button pressed for %.1f s: nothing sent (hold it for "
	           "%.1f s to raise an alarm)"),
	    s, br->bc->hold_ms / 1000.0);
}

static void
button_signal(evutil_socket_t sig, short what, void *arg)
{
	struct button_run *br = arg;

	(void)what;
	log_info("button: signal %d: stopping", (int)sig);
	relay_run_finish(button_alert_run(br->alert), EXIT_OK);
}

static int
button_parse(int argc, char **argv, struct globals *g, const char **config)
{
	static const struct option longopts[] = {
	    DEVICE_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	long timeout_s = 0;
	int ch, rc;

	*config = g->config;
	optind = 0;
	while ((ch = getopt_long(argc, argv, DEVICE_SHORTOPTS, longopts,
	            NULL)) != -1)
		if ((rc = device_opt("button", ch, config, &timeout_s)) != 0)
			return rc;
	if (optind != argc)
		return usage_error("button", _("unexpected argument '%s'"),
		    argv[optind]);
	return 0;
}

static int
button_go(struct device *d, const struct button_config *bc)
{
	struct button_run br;
	struct button_dev_hooks hooks = {button_key, &br};
	struct event_base *base;
	struct event *sigint, *sigterm;
	struct button_dev *dev;
	struct button_led *led;
	int rc;

	memset(&br, 0, sizeof(br));
	br.bc = bc;
	if ((br.alert = button_alert_new(d, bc)) == NULL)
		return EXIT_FAIL;
	base = relay_run_base(button_alert_run(br.alert));
	if ((br.hold = evtimer_new(base, button_held, &br)) == NULL)
		log_fatalx("evtimer_new failed");
	dev = button_dev_new(base, bc, &hooks);
	led = button_led_new(base, dev);
	button_alert_led(br.alert, led);
	sigint = evsignal_new(base, SIGINT, button_signal, &br);
	sigterm = evsignal_new(base, SIGTERM, button_signal, &br);
	if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) ||
	    evsignal_add(sigterm, NULL))
		log_fatalx("cannot handle signals");
	out_line(_("panic button ready on %s: hold it for %.1f s to raise "
	           "an alarm"),
	    bc->device, bc->hold_ms / 1000.0);
	rc = relay_run_go(button_alert_run(br.alert));
	event_free(sigint);
	event_free(sigterm);
	event_free(br.hold);
	button_led_free(led);
	button_dev_free(dev);
	button_alert_free(br.alert);
	return rc;
}

int
cmd_button(int argc, char **argv, struct globals *g)
{
	struct button_config bc;
	struct device d;
	const char *config;
	char why[512];
	int rc;

	if ((rc = button_parse(argc, argv, g, &config)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	/* A line per event, as it happens, into the journal. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&bc, 0, sizeof(bc));
	if (device_open(&d, config) != 0 ||
	    button_config_load(d.cfg.path, &bc) != 0) {
		button_config_free(&bc);
		device_close(&d);
		return EXIT_FAIL;
	}
	/* Before the button is watched, so never while it is: a device
	 * enrolled without a directory has nobody to seal to yet. */
	if (d.cfg.has_org && d.cfg.nrecipients == 0 &&
	    device_fetch_directory(&d, DEVICE_TIMEOUT_DEFAULT, why,
	        sizeof(why)) != 0)
		log_warnx("button: no directory yet (%s): alerts cannot be "
		          "sealed until one is fetched",
		    why);
	rc = button_go(&d, &bc);
	button_config_free(&bc);
	device_close(&d);
	return rc;
}
