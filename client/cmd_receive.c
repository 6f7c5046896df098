/*
 * alertctl receive: the contact point's webhook endpoint.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "i18n.h"
#include "alertctl.h"
#include "b64.h"
#include "hook.h"
#include "keyfile.h"
#include "log.h"
#include "receiver.h"
#include "seckey.h"
#include "shown.h"
#include "cp_config.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

struct receive_opts {
	const char *keys[HOOK_MAX_KEYS];
	size_t nkeys;
	const char *directory, *org_key;
	const char *listen, *secret, *devices, *recipient_id;
	const char *state_dir;
	struct receiver_opts rx;
	int pretty;
	long max_age, remember;
	int refuse_old;
	const char *timezone;
	struct cp_config cp; /* [contactpoint]: defaults for the above */
};

enum {
	OPT_RECIPIENT_ID = 256,
	OPT_PATH,
	OPT_PRETTY,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_DIRECTORY,
	OPT_ORG_KEY,
	OPT_STATE_DIR,
	OPT_MAX_AGE,
	OPT_OLD,
	OPT_REMEMBER,
	OPT_TIMEZONE,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_PER_ADDRESS,
	OPT_REQUEST_TIMEOUT,
};

/* HOST:PORT as hostport_parse() takes it, plus port 0 (any free port,
 * which tests and scripts use and read back from the log). */
static int
cmd_receive_listen(const char *listen, char **host, int *port)
{
	size_t n = strlen(listen);
	char *copy;
	int rc;

	if (n < 2 || strcmp(listen + n - 2, ":0") != 0)
		return hostport_parse(listen, host, port);
	copy = xasprintf("%.*s:1", (int)(n - 2), listen);
	rc = hostport_parse(copy, host, port);
	free(copy);
	*port = 0;
	return rc;
}

/* What the options leave out, from [contactpoint] in alertctl.conf:
 * the recipient's key, the signed directory and the organisation's key,
 * the zone of the times on the alarm card (cp_config_zone()). */
static int
cmd_receive_defaults(struct receive_opts *o, const char *config)
{
	const char *zone;

	if (cp_config_find(config, &o->cp) != 0)
		return EXIT_FAIL;
	if (o->nkeys == 0 && o->cp.recipient_key != NULL)
		o->keys[o->nkeys++] = o->cp.recipient_key;
	if (o->devices == NULL && o->directory == NULL &&
	    o->cp.directory != NULL) {
		o->directory = o->cp.directory;
		if (o->org_key == NULL)
			o->org_key = o->cp.org_key;
	}
	if (cp_config_zone(&o->cp, o->timezone, &zone) != 0)
		return usage_error("receive",
		    _("unknown timezone '%s' (a name such as "
		      "Europe/Amsterdam)"),
		    zone);
	return 0;
}

static int
cmd_receive_check(struct receive_opts *o, char **host)
{
	struct stat st;

	if (o->listen == NULL || o->nkeys == 0 || o->secret == NULL)
		return usage_error("receive",
		    _("--listen, --key and --secret are required"));
	if ((o->devices == NULL) == (o->directory == NULL))
		return usage_error("receive",
		    _("give either --devices or --directory"));
	if ((o->directory == NULL) != (o->org_key == NULL))
		return usage_error("receive",
		    _("--directory and --org-key go together"));
	if (cmd_receive_listen(o->listen, host, &o->rx.port) != 0)
		return usage_error("receive", _("--listen must be HOST:PORT"));
	o->rx.host = *host;
	if (o->rx.path != NULL && o->rx.path[0] != '/')
		return usage_error("receive", _("--path must start with /"));
	if (o->recipient_id != NULL && !id_valid(o->recipient_id))
		return usage_error("receive", _("--recipient-id is not an id"));
	if ((o->rx.tls_cert == NULL) != (o->rx.tls_key == NULL))
		return usage_error("receive",
		    _("--tls-cert and --tls-key go "
		      "together"));
	if (o->devices != NULL &&
	    (stat(o->devices, &st) != 0 || !S_ISDIR(st.st_mode))) {
		log_warnx(_("--devices %s: not a directory"), o->devices);
		return EXIT_FAIL;
	}
	return 0;
}

/* The listener's limits (receiver.h): the defaults, then an option. */
static void
cmd_receive_limits_default(struct http_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_conns = RECEIVER_MAX_CONNS;
	l->max_per_addr = RECEIVER_MAX_PER_ADDR;
	l->conn_rate = RECEIVER_CONN_RATE;
	l->conn_burst = RECEIVER_CONN_BURST;
	l->request_timeout = RECEIVER_REQUEST_TIMEOUT;
	l->evict = 1;
}

static int
cmd_receive_limit(int ch, const char *arg, struct http_limits *l)
{
	switch (ch) {
	case OPT_MAX_CONNECTIONS:
		if (parse_long(arg, 2, 100000, &l->max_conns) != 0)
			return usage_error("receive",
			    _("--max-connections must be 2 to 100000"));
		return 0;
	case OPT_MAX_PER_ADDRESS:
		if (parse_long(arg, 1, 100000, &l->max_per_addr) != 0)
			return usage_error("receive",
			    _("--max-per-address must be 1 to 100000"));
		return 0;
	default:
		if (parse_long(arg, 1, 300, &l->request_timeout) != 0)
			return usage_error("receive",
			    _("--request-timeout must be 1 to 300 seconds"));
		return 0;
	}
}

static int
cmd_receive_parse(int argc, char **argv, struct receive_opts *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"key", required_argument, NULL, 'k'},
	    {"secret", required_argument, NULL, 's'},
	    {"devices", required_argument, NULL, 'd'},
	    {"directory", required_argument, NULL, OPT_DIRECTORY},
	    {"org-key", required_argument, NULL, OPT_ORG_KEY},
	    {"recipient-id", required_argument, NULL, OPT_RECIPIENT_ID},
	    {"path", required_argument, NULL, OPT_PATH},
	    {"pretty", no_argument, NULL, OPT_PRETTY},
	    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
	    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
	    {"max-age", required_argument, NULL, OPT_MAX_AGE},
	    {"old", required_argument, NULL, OPT_OLD},
	    {"remember", required_argument, NULL, OPT_REMEMBER},
	    {"timezone", required_argument, NULL, OPT_TIMEZONE},
	    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
	    {"max-per-address", required_argument, NULL, OPT_MAX_PER_ADDRESS},
	    {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->max_age = HOOK_MAX_AGE_DEFAULT;
	o->remember = SHOWN_CAP_DEFAULT;
	cmd_receive_limits_default(&o->rx.limits);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "l:k:s:d:vh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'l':
			o->listen = optarg;
			break;
		case 'k':
			if (o->nkeys == HOOK_MAX_KEYS)
				return usage_error("receive",
				    _("at most %d --key"), HOOK_MAX_KEYS);
			o->keys[o->nkeys++] = optarg;
			break;
		case OPT_DIRECTORY:
			o->directory = optarg;
			break;
		case OPT_ORG_KEY:
			o->org_key = optarg;
			break;
		case 's':
			o->secret = optarg;
			break;
		case 'd':
			o->devices = optarg;
			break;
		case OPT_RECIPIENT_ID:
			o->recipient_id = optarg;
			break;
		case OPT_PATH:
			o->rx.path = optarg;
			break;
		case OPT_PRETTY:
			o->pretty = 1;
			break;
		case OPT_TLS_CERT:
			o->rx.tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			o->rx.tls_key = optarg;
			break;
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			break;
		case OPT_MAX_AGE:
			if (parse_long(optarg, 0, 366L * 86400, &o->max_age) !=
			    0)
				return usage_error("receive",
				    _("--max-age must be 0 to 31622400 "
				      "seconds"));
			break;
		case OPT_REMEMBER:
			if (parse_long(optarg, 1, SHOWN_CAP_MAX,
			        &o->remember) != 0)
				return usage_error("receive",
				    _("--remember must be 1 to %d"),
				    SHOWN_CAP_MAX);
			break;
		case OPT_TIMEZONE:
			o->timezone = optarg;
			break;
		case OPT_MAX_CONNECTIONS:
		case OPT_MAX_PER_ADDRESS:
		case OPT_REQUEST_TIMEOUT:
			if (cmd_receive_limit(ch, optarg, &o->rx.limits) != 0)
				return EXIT_USAGE;
			break;
		case OPT_OLD:
			if (strcmp(optarg, "mark") != 0 &&
			    strcmp(optarg, "refuse") != 0)
				return usage_error("receive",
				    _("--old must be mark or refuse"));
			o->refuse_old = strcmp(optarg, "refuse") == 0;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage_print("receive", stdout);
			return -1;
		default:
			return usage_error("receive", _("bad option"));
		}
	}
	if (optind != argc)
		return usage_error("receive", _("unexpected argument '%s'"),
		    argv[optind]);
	return 0;
}

static int
cmd_receive_keys(const struct receive_opts *o, struct hook_config *hook)
{
	size_t i;

	for (i = 0; i < o->nkeys; i++)
		if (hook_keys_add(&hook->keys, o->keys[i]) != 0)
			return -1;
	hook->keys.devices_dir = o->devices;
	if (o->directory != NULL &&
	    hook_keys_org_directory(&hook->keys, o->directory, o->org_key) != 0)
		return -1;
	hook->secret = hook_keys_secret(o->secret, &hook->secretlen);
	return hook->secret != NULL ? 0 : -1;
}

/* Without --state-dir a restart forgets what was shown: said once. */
static struct shown *
cmd_receive_shown(const char *dir, long remember)
{
	if (dir == NULL)
		log_warnx(_("no --state-dir: alerts shown are remembered only "
		            "until exit, so a replay after a restart is shown "
		            "as new"));
	return shown_open(dir, (size_t)remember);
}

int
cmd_receive(int argc, char **argv, struct globals *g)
{
	struct receive_opts o;
	struct hook_config hook;
	char *host = NULL;
	int rc;

	if ((rc = cmd_receive_parse(argc, argv, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	/* Long-running: into a file or a journal it keeps log lines, with
	 * the time of each (alertctl(1), DIAGNOSTICS). */
	if (!isatty(STDERR_FILENO))
		log_set_human(0);
	if ((rc = cmd_receive_defaults(&o, g->config)) != 0 ||
	    (rc = cmd_receive_check(&o, &host)) != 0) {
		cp_config_free(&o.cp);
		free(host);
		return rc;
	}
	memset(&hook, 0, sizeof(hook));
	hook.recipient_id = o.recipient_id;
	hook.pretty = o.pretty;
	hook.max_age = o.max_age;
	hook.refuse_old = o.refuse_old;
	rc = EXIT_FAIL;
	if (cmd_receive_keys(&o, &hook) == 0 &&
	    (hook.shown = cmd_receive_shown(o.state_dir, o.remember)) != NULL) {
		hook.seen = seen_new(SEEN_CAP_DEFAULT);
		rc = receiver_run(&o.rx, &hook);
		seen_free(hook.seen);
		shown_close(hook.shown);
	}
	hook_keys_clear(&hook.keys);
	seckey_free(hook.secret);
	cp_config_free(&o.cp);
	free(host);
	return rc;
}
