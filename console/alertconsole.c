/*
 * alertconsole: the contact point's console (console.h).  Start-up in
 * the order of alertrelayd: configuration, keys (as root when started
 * so, to read them), the listener, then privileges are dropped, and
 * only then is the state directory opened, so that its files belong to
 * the console's user.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "console.h"
#include "console_ack.h"
#include "console_db.h"
#include "console_db_view.h"
#include "console_device.h"
#include "console_events.h"
#include "console_map.h"
#include "console_metrics.h"
#include "console_notice.h"
#include "console_notice_cap.h"
#include "console_static.h"
#include "console_work.h"
#include "hook_keys.h"
#include "keyfile.h"
#include "log.h"
#include "privdrop.h"
#include "seckey.h"
#include "seen.h"
#include "shown.h"

#define ALERTCONSOLE_CONF "/etc/alertconsole/console.conf"

static int console_store(void *arg, const struct hook_request *req,
    const struct hook_body *b, const struct alert *a,
    const struct hook_verdict *v);

#define ALERTCONSOLE_VERSION "0.1.0"

/* Like alertctl and alertrelayd: -h/--help on stdout, exit 0; a usage
 * error on stderr, exit 2. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: alertconsole [-v] [-c CONFIG]\n"
	    "       alertconsole [-c CONFIG] user add|passwd|remove|list ...\n"
	    "       alertconsole [-c CONFIG] forget DEVICE-ID --by NAME "
	    "[--force]\n"
	    "\n"
	    "  -c, --config CONFIG  configuration file "
	    "(default " ALERTCONSOLE_CONF ")\n"
	    "  -v, --verbose        debug logging\n"
	    "  -h, --help           this help\n"
	    "  -V, --version        print the version and exit\n"
	    "\n"
	    "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

/* A recipient's keys: X25519 secrets and the webhook secret, both in
 * sodium_malloc'd memory (guard pages, mlock'ed, wiped on free). */
static int
console_recipient_keys(struct console *c, struct console_recipient *r)
{
	const struct console_config *cfg = &c->cfg;
	struct hook_config *hook = &r->hook;
	size_t i;

	memset(hook, 0, sizeof(*hook));
	for (i = 0; i < r->nkeys; i++)
		if (hook_keys_add(&hook->keys, r->keys[i]) != 0)
			return -1;
	hook->keys.devices_dir = cfg->devices;
	if (cfg->directory != NULL &&
	    hook_keys_org_directory(&hook->keys, cfg->directory,
	        cfg->org_key) != 0)
		return -1;
	if ((hook->secret =
	            hook_keys_secret(r->secret_file, &hook->secretlen)) == NULL)
		return -1;
	hook->recipient_id = r->id;
	hook->max_age = cfg->max_age;
	hook->refuse_old = cfg->refuse_old;
	hook->store = console_store;
	hook->store_arg = c;
	return 0;
}

static int
console_keys(struct console *c)
{
	size_t i;

	for (i = 0; i < c->cfg.nrcpt; i++)
		if (console_recipient_keys(c, &c->cfg.rcpt[i]) != 0)
			return -1;
	return console_ack_tokens(c);
}

static void
console_recipients_clear(struct console *c)
{
	size_t i;

	for (i = 0; i < c->cfg.nrcpt; i++) {
		hook_keys_clear(&c->cfg.rcpt[i].hook.keys);
		seckey_free(c->cfg.rcpt[i].hook.secret);
		c->cfg.rcpt[i].hook.secret = NULL;
	}
}

/* The database commit comes before the 2xx: once the relay hears it,
 * it never sends the webhook again.  A notice that adds nothing
 * (console_notice_admit) is answered so too, unstored and unannounced:
 * every stored one costs each later queue load and reloads every page. */
static int
console_store(void *arg, const struct hook_request *req,
    const struct hook_body *b, const struct alert *a,
    const struct hook_verdict *v)
{
	struct console *c = arg;

	(void)a;
	if (!console_notice_admit(c, req, b))
		return 0;
	if (console_db_store(c->db, req, b, v) != 0)
		return -1;
	console_api_check_ref(b);
	console_notice_check_by(b);
	/* a late position or notice of a closed alert: its content period
	 * ran from the closure, behind the sweep's cursor */
	if (c->cfg.retention.alert_content != 0 &&
	    console_work_closed(c, b->alert_id, NULL, 0) == 1)
		console_retention_rewind(c->retention);
	if (hook_is_first_event(b->type)) /* a position is no delivery */
		console_metrics_note(c, b->alert_id, CONSOLE_METRICS_DELIVERED);
	else if (strcmp(b->type, "alert.acknowledged") == 0 &&
	    /* the relay's word alone acknowledges nothing */
	    strcmp(console_notice_kind(c, b->type, b->o, NULL, 0),
	        "acknowledged") == 0)
		console_metrics_note(c, b->alert_id, CONSOLE_METRICS_ACKED);
	if (c->events != NULL)
		console_events_alert(c->events, b->alert_id);
	return 0;
}

/* The webhook ids and shown alerts of the hooks, remembered from the
 * database, so that a restart still knows a retry and a replay.  In
 * memory the newest SHOWN_CAP_DEFAULT alerts are kept, as by `alertctl
 * receive`; the queue itself shows each alert id once whatever its age
 * (console_db_alerts). */
static int
console_state(struct console *c)
{
	size_t i;

	if ((c->db = console_db_open(c->cfg.state_dir)) == NULL ||
	    (c->device = console_device_open(c->cfg.state_dir)) == NULL ||
	    console_db_view_init(c->db) != 0 || console_notice_sql(c) != 0 ||
	    console_metrics_load(c) != 0 || console_db_lock(c->db) != 0)
		return -1;
	console_users_warn_unackable(console_db_sqlite(c->db));
	c->seen = seen_new(SEEN_CAP_DEFAULT);
	if ((c->shown = shown_open(NULL, SHOWN_CAP_DEFAULT)) == NULL)
		return -1;
	for (i = 0; i < c->cfg.nrcpt; i++) {
		c->cfg.rcpt[i].hook.seen = c->seen;
		c->cfg.rcpt[i].hook.shown = c->shown;
	}
	return console_db_replay(c->db, c->seen, c->shown);
}

static int
console_start(struct console *c)
{
	struct console_http *h;
	int rc = -1;

	if (console_keys(c) != 0)
		return -1;
	/* Leaflet only for a map: without one the page asks no server. */
	if (console_static_load(c->cfg.static_dir,
	        c->cfg.map_tiles != NULL ? c->cfg.leaflet_dir : NULL) != 0)
		return -1;
	console_map_init(&c->cfg);
	if ((h = console_http_bind(c)) == NULL)
		return -1;
	if (privdrop(c->cfg.user) == 0 && console_state(c) == 0) {
		log_info("alertconsole ready: %zu recipient(s)", c->cfg.nrcpt);
		rc = console_http_run(h);
	}
	console_http_free(h);
	return rc;
}

static int
console_args(int argc, char **argv, const char **conf, int *user_cmd)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	/* "+": options end at the first word (user ...) */
	while ((ch = getopt_long(argc, argv, "+c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*conf = optarg;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("alertconsole %s\n", ALERTCONSOLE_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc &&
	    (strcmp(argv[optind], "user") == 0 ||
	        strcmp(argv[optind], "forget") == 0)) {
		*user_cmd = optind;
		return 0;
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *conf = ALERTCONSOLE_CONF;
	struct console c;
	int rc, user_cmd = 0;

	log_init("alertconsole", LOG_INFO, LOG_TO_STDERR);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		log_fatalx("libsodium failed to initialise");
	if (console_args(argc, argv, &conf, &user_cmd) != 0)
		return 2;
	memset(&c, 0, sizeof(c));
	if (console_config_load(conf, &c.cfg) != 0)
		return 1;
	if (user_cmd > 0) {
		rc = strcmp(argv[user_cmd], "forget") == 0
		    ? console_forget_cmd(&c.cfg, argc - user_cmd,
		          argv + user_cmd)
		    : console_user_cmd(&c.cfg, argc - user_cmd,
		          argv + user_cmd);
		console_config_free(&c.cfg);
		return rc;
	}
	rc = console_start(&c);
	console_recipients_clear(&c);
	console_ack_tokens_clear(&c);
	if (c.shown != NULL)
		shown_close(c.shown);
	if (c.seen != NULL)
		seen_free(c.seen);
	console_metrics_free(&c);
	console_db_close(c.db);
	console_device_free(c.device);
	console_static_free();
	console_map_free();
	console_config_free(&c.cfg);
	return rc == 0 ? 0 : 1;
}
