/* The configuration, key and options every device command needs (device.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "i18n.h"
#include "ack_verify.h"
#include "device.h"
#include "log.h"
#include "msg.h"
#include "relay_request.h"
#include "relay_run.h"
#include "seckey.h"
#include "trust.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

static unsigned char *
device_key(const struct client_config *cfg)
{
	unsigned char *sk;
	char err[512];

	sk = seckey_load(cfg->device_key, crypto_sign_SECRETKEYBYTES, err,
	    sizeof(err));
	if (sk == NULL) {
		log_errorx(_("device key: %s"), err);
		return NULL;
	}
	/* A corrupt key file would otherwise show up as auth_failed at
	 * the relay, far from its cause. */
	if (!seckey_ed25519_valid(sk)) {
		log_errorx(_("device key %s is corrupt"), cfg->device_key);
		seckey_free(sk);
		return NULL;
	}
	return sk;
}

int
device_open_parts(struct device *d, const char *config)
{
	char *path;
	int rc;

	memset(d, 0, sizeof(*d));
	path = config != NULL ? xstrdup(config) : client_config_default_path();
	if (path == NULL) {
		log_errorx(_("no configuration: use -c or set ALERTCTL_CONF"));
		return -1;
	}
	rc = client_config_load(path, &d->cfg);
	free(path);
	if (rc != 0 || trust_open(&d->cfg) != 0)
		return -1;
	if ((d->sk = device_key(&d->cfg)) == NULL)
		return -2;
	d->av = ack_verify_new(&d->cfg, d->sk);
	return 0;
}

int
device_open(struct device *d, const char *config)
{
	return device_open_parts(d, config) == 0 ? 0 : -1;
}

static void
device_fetch_ready(struct relay_session *s, void *arg)
{
	(void)arg;
	/* The session checked and kept the directory before this. */
	relay_session_done(s, EXIT_OK);
}

static void
device_fetch_frame(struct relay_session *s, const char *type, const json_t *o,
    void *arg)
{
	(void)o;
	(void)arg;
	relay_session_unexpected(s, type);
}

struct device_fetch {
	struct relay_run *run;
	char *why;
	size_t whylen;
	int shut_out;
};

static void
device_fetch_failed(void *arg, int deadline, const char *why)
{
	struct device_fetch *f = arg;
	const char *code = relay_run_code(f->run);

	if (deadline)
		log_warnx(_("no verified directory before the deadline: %s"),
		    why);
	else
		log_warnx(_("no verified directory: %s"), why);
	snprintf(f->why, f->whylen, "%s", why);
	f->shut_out = relay_code_shut_out(code);
}

int
device_fetch_directory(struct device *d, long timeout_s, char *why,
    size_t whylen)
{
	struct device_fetch f = {NULL, why, whylen, 0};
	struct relay_op op = {device_fetch_ready, device_fetch_frame,
	    device_fetch_failed, &f, NULL};
	struct relay_run *run;
	int rc;

	snprintf(why, whylen, _(MSG_WHY_NO_TLS));
	log_info(_("no directory yet: fetching it from the relay"));
	if ((run = relay_run_new(&d->cfg, d->sk, &op, timeout_s, 0)) == NULL)
		return -1;
	f.run = run;
	rc = relay_run_go(run);
	relay_run_free(run);
	if (f.shut_out)
		return -2;
	if (rc == EXIT_OK && trust_open(&d->cfg) != 0)
		snprintf(why, whylen, _(MSG_WHY_DIR_INVALID));
	else if (rc == EXIT_OK && d->cfg.nrecipients == 0)
		snprintf(why, whylen, _(MSG_WHY_DIR_EMPTY));
	else if (rc == EXIT_OK)
		return 0;
	return -1;
}

void
device_close(struct device *d)
{
	ack_verify_free(d->av);
	d->av = NULL;
	client_config_free(&d->cfg);
	seckey_free(d->sk);
	d->sk = NULL;
}

enum {
	OPT_JSON = DEVICE_GETOPT_NEXT,
	OPT_LIMIT,
};

int
device_opt(const char *command, int ch, const char **config, long *timeout_s)
{
	switch (ch) {
	case DEVICE_GETOPT_TIMEOUT:
		if (parse_long(optarg, 1, DEVICE_TIMEOUT_MAX, timeout_s) != 0)
			return usage_error(command,
			    _("--timeout must be 1..%d seconds"),
			    DEVICE_TIMEOUT_MAX);
		return 0;
	case 'c':
		*config = optarg;
		return 0;
	case 'v':
		log_set_level(LOG_DEBUG);
		return 0;
	case 'h':
		usage_print(command, stdout);
		return -1;
	default:
		return usage_error(command, _("bad option"));
	}
}

static int
device_opts_check(const char *command, unsigned takes, int argc, char **argv,
    struct device_opts *o)
{
	int nargs = (takes & DEVICE_OPT_ALERT_ID) != 0;

	if (o->json && !(takes & DEVICE_OPT_JSON))
		return usage_error(command, _("%s takes no --json"), command);
	if (o->limit != 0 && !(takes & DEVICE_OPT_LIMIT))
		return usage_error(command, _("%s takes no --limit"), command);
	if (argc - optind < nargs)
		return usage_error(command, _("expected an alert_id"));
	if (argc - optind > nargs)
		return usage_error(command, _("unexpected argument '%s'"),
		    argv[optind + nargs]);
	if (nargs == 1) {
		o->alert_id = argv[optind];
		if (!alert_id_valid(o->alert_id))
			return usage_error(command,
			    _("an alert_id is 32 lowercase hex digits"));
	}
	return 0;
}

int
device_opts_parse(const char *command, unsigned takes, int argc, char **argv,
    const struct globals *g, struct device_opts *o)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, OPT_JSON},
	    {"limit", required_argument, NULL, OPT_LIMIT},
	    DEVICE_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int ch, rc;

	memset(o, 0, sizeof(*o));
	o->config = g->config;
	o->timeout_s = DEVICE_TIMEOUT_DEFAULT;
	optind = 0;
	while ((ch = getopt_long(argc, argv, DEVICE_SHORTOPTS, longopts,
	            NULL)) != -1) {
		switch (ch) {
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_LIMIT:
			if (parse_long(optarg, 1, DEVICE_LIST_MAX, &o->limit) !=
			    0)
				return usage_error(command,
				    _("--limit must be 1..%d"),
				    DEVICE_LIST_MAX);
			break;
		default:
			rc = device_opt(command, ch, &o->config, &o->timeout_s);
			if (rc != 0)
				return rc;
		}
	}
	return device_opts_check(command, takes, argc, argv, o);
}

int
device_command_run(const struct device_command *c, int argc, char **argv,
    const struct globals *g)
{
	struct relay_request req;
	struct device_opts o;
	struct device d;
	char *failure;
	json_t *frame;
	int rc;

	if ((rc = device_opts_parse(c->name, c->takes, argc, argv, g, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	if (device_open(&d, o.config) != 0) {
		device_close(&d);
		return EXIT_FAIL;
	}
	failure = o.alert_id != NULL ? xasprintf("%s %s", c->name, o.alert_id)
	                             : xstrdup(c->name);
	memset(&req, 0, sizeof(req));
	o.dev = &d;
	if ((frame = c->frame(&d, &o)) == NULL) { /* refused, told */
		device_close(&d);
		free(failure);
		return EXIT_FAIL;
	}
	req.frame = frame;
	req.answer = c->answer;
	req.alert_id = o.alert_id;
	req.failure = failure;
	req.answered = c->answered;
	req.refused = c->refused;
	req.arg = &o;
	rc = relay_request_run(&d, o.timeout_s, &req);
	json_decref(frame);
	free(failure);
	device_close(&d);
	return rc;
}
