/*
 * alertconsole.conf [retention]: how long the console keeps what it
 * stores, in seconds as alertrelayd.conf's [retention] (0: for ever).
 * The defaults and why are in alertconsole(8) and docs/PRIVACY.md.
 */
#include <stddef.h>
#include <string.h>

#include "console_retention.h"
#include "log.h"
#include "util.h"

#define DAY 86400L
#define CONSOLE_RETENTION_MAX (10L * 366 * DAY)

#define CONSOLE_RETENTION_FIELD(f) offsetof(struct console_retention_cfg, f)
static const struct long_key console_retention_keys[] = {
    {"alert_content", CONSOLE_RETENTION_FIELD(alert_content), 0,
        CONSOLE_RETENTION_MAX},
    {"alert_history", CONSOLE_RETENTION_FIELD(alert_history), 0,
        CONSOLE_RETENTION_MAX},
    {"device_state", CONSOLE_RETENTION_FIELD(device_state), 0,
        CONSOLE_RETENTION_MAX},
    {"sessions", CONSOLE_RETENTION_FIELD(sessions), 0, CONSOLE_RETENTION_MAX},
    {"sweep_interval", CONSOLE_RETENTION_FIELD(sweep_interval), 1, DAY},
};

void
console_retention_defaults(struct console_retention_cfg *r)
{
	r->alert_content = 90 * DAY;
	r->alert_history = 365 * DAY;
	r->device_state = 90 * DAY;
	r->sessions = DAY;
	r->sweep_interval = 600;
}

int
console_retention_key(struct console_retention_cfg *r, const char *name,
    const char *value)
{
	size_t n =
	    sizeof(console_retention_keys) / sizeof(console_retention_keys[0]);

	/* a key not of this section is an error here */
	return parse_long_key(console_retention_keys, n, r, name, value) == 0
	    ? 0
	    : -1;
}

/* The timeline outlives the content it describes, never the other way:
 * a closed alert's webhooks without its closure could never be swept.
 * Either both are kept for ever (0) or both have a period, the
 * content's the shorter (alertconsole(8)). */
int
console_retention_check(const struct console_retention_cfg *r)
{
	if ((r->alert_history == 0) != (r->alert_content == 0) ||
	    r->alert_content > r->alert_history) {
		log_warnx("config: [retention] alert_content and alert_history "
		          "must both be 0 or both set, alert_content at most "
		          "alert_history");
		return -1;
	}
	return 0;
}
