/*
 * The [button] section of alertctl.conf (button_config.h).  A separate
 * pass over the same file, so that the client's own parser only has to
 * let the section through; unknown keys here are errors, as there.
 */
#include <linux/input.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "alert.h"
#include "button_config.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

struct button_config_parse {
	const char *path;
	struct button_config *bc;
	int seen; /* a [button] section was there */
	int errors;
	int has_lat, has_lon;
	char seen_keys[512]; /* " name name ", for a key given twice */
};

static void
button_config_error(struct button_config_parse *p, const char *what,
    const char *name)
{
	log_warnx("%s: [button] %s %s", p->path, name, what);
	p->errors++;
}

static int
button_config_number(const char *s, double min, double max, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return *s != '\0' && *end == '\0' && isfinite(*out) && *out >= min &&
	        *out <= max
	    ? 0
	    : -1;
}

static int
button_config_bool(const char *s, int *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static void
button_config_str(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
}

/* One key; 0, else the reason. */
static const char *
button_config_key(struct button_config_parse *p, const char *name,
    const char *value)
{
	struct button_config *bc = p->bc;
	double d;
	long l;

	if (strcmp(name, "device") == 0) {
		bc->kind = BUTTON_EVDEV;
		button_config_str(&bc->device, value);
	} else if (strcmp(name, "gpio_chip") == 0) {
		bc->kind = BUTTON_GPIO;
		button_config_str(&bc->device, value);
	} else if (strcmp(name, "key") == 0) {
		if (parse_long(value, 1, KEY_MAX, &l) != 0)
			return "must be a key code 1..767 (see evtest)";
		bc->key = (unsigned)l;
	} else if (strcmp(name, "gpio_line") == 0) {
		if (parse_long(value, 0, 1023, &l) != 0)
			return "must be a line offset 0..1023";
		bc->line = (unsigned)l;
	} else if (strcmp(name, "active_low") == 0) {
		if (button_config_bool(value, &bc->active_low) != 0)
			return "must be yes or no";
	} else if (strcmp(name, "hold") == 0) {
		if (button_config_number(value, BUTTON_HOLD_MS_MIN / 1000.0,
		        BUTTON_HOLD_MS_MAX / 1000.0, &d) != 0)
			return "must be 0.1..30 seconds";
		bc->hold_ms = (long)(d * 1000 + 0.5);
	} else if (strcmp(name, "message") == 0) {
		if (strlen(value) > ALERT_MESSAGE_MAX)
			return "is too long";
		button_config_str(&bc->message, value);
	} else if (strcmp(name, "lat") == 0) {
		if (button_config_number(value, -90, 90, &bc->lat) != 0)
			return "must be -90..90";
		p->has_lat = 1;
	} else if (strcmp(name, "lon") == 0) {
		if (button_config_number(value, -180, 180, &bc->lon) != 0)
			return "must be -180..180";
		p->has_lon = 1;
	} else if (strcmp(name, "accuracy") == 0) {
		if (button_config_number(value, 0, 1e7, &bc->accuracy_m) != 0)
			return "must be 0 or more metres";
		bc->has_accuracy = 1;
	} else if (strcmp(name, "led") == 0) {
		if (parse_long(value, 0, 1023, &l) != 0)
			return "must be an LED code (evdev) or a line (GPIO)";
		bc->led = (int)l;
	} else if (strcmp(name, "supervise") == 0) {
		if (parse_long(value, 0, 86400, &l) != 0)
			return "must be 0 (off) or 1..86400 seconds";
		bc->supervise_s = l;
	} else if (strcmp(name, "accept_relay_ack") == 0) {
		if (button_config_bool(value, &bc->accept_relay_ack) != 0)
			return "must be yes or no";
	} else if (strcmp(name, "led_device") == 0)
		button_config_str(&bc->led_device, value);
	else
		return "unknown key";
	return NULL;
}

/* 1 when name came before in [button]; else remembers it. */
static int
button_config_twice(struct button_config_parse *p, const char *name)
{
	char key[80];
	size_t used = strlen(p->seen_keys);

	snprintf(key, sizeof(key), " %s ", name);
	if (strstr(p->seen_keys, key) != NULL)
		return 1;
	if (used + strlen(key) < sizeof(p->seen_keys))
		snprintf(p->seen_keys + used, sizeof(p->seen_keys) - used, "%s",
		    key + (used > 0));
	return 0;
}

static int
button_config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct button_config_parse *p = arg;
	const char *why;

	if (strcmp(section, "button") != 0)
		return 1; /* client_config.c's */
	p->seen = 1;
	if (button_config_twice(p, name))
		button_config_error(p, "is given twice", name);
	else if (*value == '\0')
		button_config_error(p, "has no value", name);
	else if ((why = button_config_key(p, name, value)) != NULL)
		button_config_error(p, why, name);
	return 1;
}

static int
button_config_check(struct button_config_parse *p)
{
	struct button_config *bc = p->bc;

	if (!p->seen) {
		log_warnx("%s: no [button] section (alertctl(1), BUTTON)",
		    p->path);
		return -1;
	}
	if (bc->device == NULL)
		log_warnx("%s: [button] needs device (an input node) or "
		          "gpio_chip",
		    p->path);
	else if (bc->kind == BUTTON_EVDEV && bc->key == 0)
		log_warnx("%s: [button] needs key (the key code the button "
		          "sends; evtest shows it)",
		    p->path);
	else if (p->has_lat != p->has_lon)
		log_warnx("%s: [button] lat and lon go together", p->path);
	else if (bc->has_accuracy && !p->has_lat)
		log_warnx("%s: [button] accuracy needs lat and lon", p->path);
	else
		return p->errors > 0 ? -1 : 0;
	return -1;
}

int
button_config_load(const char *path, struct button_config *bc)
{
	struct button_config_parse p;
	int rc;

	memset(bc, 0, sizeof(*bc));
	bc->hold_ms = BUTTON_HOLD_MS_DEFAULT;
	bc->led = -1;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.bc = bc;
	rc = ini_parse(path, button_config_handler, &p);
	if (rc != 0) {
		/* client_config_load reported syntax errors already. */
		log_warnx("%s: cannot read [button] (line %d)", path, rc);
		return -1;
	}
	bc->has_location = p.has_lat && p.has_lon;
	return button_config_check(&p);
}

void
button_config_free(struct button_config *bc)
{
	free(bc->device);
	free(bc->message);
	free(bc->led_device);
	memset(bc, 0, sizeof(*bc));
}
