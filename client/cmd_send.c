/*
 * alertctl send: build, sign and seal an alert, then deliver it.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "alert_seal.h"
#include "alertctl.h"
#include "client_config.h"
#include "delivery.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "outbox.h"
#include "seckey.h"
#include "usage.h"
#include "xmalloc.h"

#define SEND_TIMEOUT_DEFAULT 30
#define SEND_TIMEOUT_MAX 86400

struct send_opts {
	const char *config;
	const char *type;
	const char *message;
	const char *lat, *lon, *accuracy;
	const char *alert_id;
	long timeout_s;
};

enum {
	OPT_LAT = 256,
	OPT_LON,
	OPT_ACCURACY,
	OPT_TIMEOUT,
	OPT_ALERT_ID,
};

static int
cmd_send_double(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return *s != '\0' && *end == '\0' && isfinite(*out) ? 0 : -1;
}

static int
cmd_send_check(const struct send_opts *o)
{
	if (o->type == NULL)
		return usage_error("send", "--type is required");
	if (!alert_type_valid(o->type))
		return usage_error("send",
		    "--type must be panic, threat or "
		    "test");
	if ((o->lat == NULL) != (o->lon == NULL))
		return usage_error("send", "--lat and --lon go together");
	if (o->accuracy != NULL && o->lat == NULL)
		return usage_error("send", "--accuracy needs --lat and --lon");
	if (o->message != NULL && strlen(o->message) > ALERT_MESSAGE_MAX)
		return usage_error("send", "--message is longer than %d bytes",
		    ALERT_MESSAGE_MAX);
	if (o->alert_id != NULL && !alert_id_valid(o->alert_id))
		return usage_error("send",
		    "--alert-id must be 32 lowercase "
		    "hex digits");
	return 0;
}

static int
cmd_send_parse(int argc, char **argv, struct globals *g, struct send_opts *o)
{
	static const struct option longopts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"message", required_argument, NULL, 'm'},
	    {"lat", required_argument, NULL, OPT_LAT},
	    {"lon", required_argument, NULL, OPT_LON},
	    {"accuracy", required_argument, NULL, OPT_ACCURACY},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"alert-id", required_argument, NULL, OPT_ALERT_ID},
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->config = g->config;
	o->timeout_s = SEND_TIMEOUT_DEFAULT;
	optind = 0;
	while (
	    (ch = getopt_long(argc, argv, "t:m:c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o->type = optarg;
			break;
		case 'm':
			o->message = optarg;
			break;
		case OPT_LAT:
			o->lat = optarg;
			break;
		case OPT_LON:
			o->lon = optarg;
			break;
		case OPT_ACCURACY:
			o->accuracy = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_long(optarg, 1, SEND_TIMEOUT_MAX,
			        &o->timeout_s) != 0)
				return usage_error("send",
				    "--timeout must be "
				    "1..%d seconds",
				    SEND_TIMEOUT_MAX);
			break;
		case OPT_ALERT_ID:
			o->alert_id = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage_print("send", stdout);
			return -1;
		default:
			return usage_error("send", "bad option");
		}
	}
	if (optind != argc)
		return usage_error("send", "unexpected argument '%s'",
		    argv[optind]);
	return cmd_send_check(o);
}

static int
cmd_send_location(const struct send_opts *o, struct alert *a)
{
	if (o->lat == NULL)
		return 0;
	a->has_location = 1;
	a->has_accuracy = o->accuracy != NULL;
	if (cmd_send_double(o->lat, &a->lat) != 0 ||
	    cmd_send_double(o->lon, &a->lon) != 0 ||
	    (a->has_accuracy &&
	        cmd_send_double(o->accuracy, &a->accuracy_m) != 0) ||
	    !alert_location_valid(a->lat, a->lon, a->has_accuracy,
	        a->accuracy_m))
		return usage_error("send",
		    "bad position: --lat -90..90, "
		    "--lon -180..180, --accuracy >= 0");
	return 0;
}

static void
cmd_send_alert(const struct send_opts *o, const struct client_config *cfg,
    struct alert *a)
{
	if (o->alert_id != NULL)
		memcpy(a->alert_id, o->alert_id, sizeof(a->alert_id));
	else
		alert_id_generate(a->alert_id);
	memcpy(a->device_id, cfg->device_id, sizeof(a->device_id));
	snprintf(a->alert_type, sizeof(a->alert_type), "%s", o->type);
	time_rfc3339(a->created_at, time(NULL));
	a->message = o->message != NULL ? xstrdup(o->message) : NULL;
}

/* A corrupt key file would otherwise show up as auth_failed at the
 * relay, far from its cause. */
static int
cmd_send_key_consistent(const unsigned char *sk)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk2 = seckey_alloc(crypto_sign_SECRETKEYBYTES);
	int ok;

	crypto_sign_seed_keypair(pk, sk2, sk);
	ok = sodium_memcmp(pk, sk + crypto_sign_SEEDBYTES, sizeof(pk)) == 0;
	seckey_free(sk2);
	return ok;
}

static unsigned char *
cmd_send_key(const struct client_config *cfg)
{
	unsigned char *sk;
	char err[512];

	sk = seckey_load(cfg->device_key, crypto_sign_SECRETKEYBYTES, err,
	    sizeof(err));
	if (sk == NULL) {
		log_warnx("device key: %s", err);
		return NULL;
	}
	if (!cmd_send_key_consistent(sk)) {
		log_warnx("device key %s is corrupt", cfg->device_key);
		seckey_free(sk);
		return NULL;
	}
	return sk;
}

/* The stored envelope for a resend, else a new sealing, stored. */
static int
cmd_send_seal(const struct send_opts *o, const struct client_config *cfg,
    const struct alert *a, const unsigned char *sk, struct sealed_alert *s)
{
	unsigned char mac[OUTBOX_MAC_BYTES];
	char *dir = outbox_dir(cfg), err[256];
	int rc = 0, stored = 0;

	outbox_mac(a, cfg, sk, mac);
	if (o->alert_id != NULL && dir != NULL)
		stored = outbox_load(dir, a->alert_id, mac,
		    sk + crypto_sign_SEEDBYTES, s);
	if (stored == 1) {
		out_line(MSG_RESENDING, s->created_at);
		goto out;
	}
	if (alert_seal(a, cfg, sk, s, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		rc = -1;
		goto out;
	}
	/* An entry of another alert under this id stays: the relay may
	 * have that one. */
	if (stored == 0 && (dir == NULL || outbox_save(dir, s, mac) != 0))
		log_warnx("alert not stored in the outbox: a resend with "
		          "--alert-id will count as a different alert");
out:
	free(dir);
	return rc;
}

static int
cmd_send_run(const struct send_opts *o, const struct client_config *cfg)
{
	struct sealed_alert sealed;
	struct alert a;
	unsigned char *sk;
	json_t *frame;
	int rc = EXIT_FAIL;

	memset(&a, 0, sizeof(a));
	if (cmd_send_location(o, &a) != 0)
		return EXIT_USAGE;
	if ((sk = cmd_send_key(cfg)) == NULL)
		return EXIT_FAIL;
	cmd_send_alert(o, cfg, &a);
	if (out_line(MSG_ALERT_ID, a.alert_id) != 0)
		log_warn("stdout");
	if (cmd_send_seal(o, cfg, &a, sk, &sealed) == 0) {
		frame = alert_seal_frame(&sealed);
		rc = delivery_run(cfg, sk, a.alert_id, frame, o->timeout_s);
		json_decref(frame);
		alert_seal_free(&sealed);
	}
	alert_clear(&a);
	seckey_free(sk);
	return rc;
}

int
cmd_send(int argc, char **argv, struct globals *g)
{
	struct client_config cfg;
	struct send_opts o;
	char *path;
	int rc;

	if ((rc = cmd_send_parse(argc, argv, g, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	path =
	    o.config != NULL ? xstrdup(o.config) : client_config_default_path();
	if (path == NULL) {
		log_warnx("no configuration: use -c or set ALERTCTL_CONF");
		return EXIT_FAIL;
	}
	if (client_config_load(path, &cfg) == 0)
		rc = cmd_send_run(&o, &cfg);
	else
		rc = EXIT_FAIL;
	client_config_free(&cfg);
	free(path);
	return rc;
}
