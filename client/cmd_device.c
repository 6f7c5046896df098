/*
 * alertctl device: the devices of the directory, from the
 * administrator's side.
 *
 *	device add ALIAS [--id ID] [-o BUNDLE]
 *	device revoke ID
 *	device rotate ID [-o BUNDLE]
 *	device list [--json]
 *
 * (each with [--org DIR]).  A device's secret key is made here and
 * leaves only in its enrollment bundle; the directory keeps the public
 * key.  Secrets are written before the directory that names them, so
 * a failure never publishes a key whose secret half is lost.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "afile.h"
#include "alertctl.h"
#include "b64.h"
#include "bundle.h"
#include "directory.h"
#include "log.h"
#include "orgdir.h"
#include "orgdir_json.h"
#include "out.h"
#include "seckey.h"
#include "usage.h"
#include "xmalloc.h"

struct device_opts {
	const char *org;
	const char *id;
	const char *output;
	int json;
};

enum { OPT_ORG = 256, OPT_ID, OPT_JSON };

/* A new key pair: the secret half in guarded memory, the public half
 * in base64 for the directory (caller frees). */
static unsigned char *
cmd_device_keypair(char **pk64)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = seckey_alloc(crypto_sign_SECRETKEYBYTES);

	crypto_sign_keypair(pk, sk);
	*pk64 = b64_encode(pk, sizeof(pk));
	return sk;
}

/* The newest signed directory, for the bundle to carry as the device's
 * floor; NULL (said) when there is none yet, or it does not verify. */
static char *
cmd_device_signed(const struct orgdir *o, const unsigned char *org_pk)
{
	char *path = orgdir_file(o, ORGDIR_SIGNED), *text = NULL, err[512];
	struct directory d;

	if (!afile_exists(path))
		log_info("no signed directory yet: the bundle carries none "
		         "until alertctl directory sign");
	else if (directory_load(path, org_pk, &d, err, sizeof(err)) != 0)
		log_warnx("%s; the bundle carries no directory", err);
	else {
		text = xstrdup(d.signed_text);
		directory_free(&d);
	}
	free(path);
	return text;
}

/* The bundle is the only place the secret key is ever written to. */
static int
cmd_device_bundle(const struct orgdir *o, const char *id, const char *alias,
    unsigned char *sk, const char *path, enum afile_how how)
{
	struct bundle b;
	char err[512];
	int rc = 0;

	memset(&b, 0, sizeof(b));
	if (orgdir_pub(o, b.org_pk) != 0)
		return -1;
	b.directory = cmd_device_signed(o, b.org_pk);
	snprintf(b.device_id, sizeof(b.device_id), "%s", id);
	b.alias = (char *)alias;
	b.sk = sk;
	b.relays = orgdir_list(o, "relays");
	b.pins = orgdir_list(o, "relay_pins");
	if (bundle_write(path, &b, how, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		rc = -1;
	}
	free(b.directory);
	return rc;
}

/* A bundle is no use without a relay to reach and a pin to trust. */
static int
cmd_device_reachable(const struct orgdir *o)
{
	if (json_array_size(orgdir_list(o, "relays")) > 0 &&
	    json_array_size(orgdir_list(o, "relay_pins")) > 0)
		return 1;
	log_warnx("the directory has no relays or no relay pins to put in "
	          "the bundle; set them with alertctl org init or org set");
	return 0;
}

/* -o, else ORG/devices/ID.bundle (its directory made when missing). */
static char *
cmd_device_bundle_path(const struct orgdir *o, const struct device_opts *op,
    const char *id)
{
	char *dir, err[512];

	if (op->output != NULL)
		return xstrdup(op->output);
	dir = orgdir_file(o, ORGDIR_DEVICES);
	if (afile_mkdirs(dir, err, sizeof(err)) != 0)
		log_warnx("%s", err);
	free(dir);
	return orgdir_file(o, ORGDIR_DEVICES "/%s.bundle", id);
}

static void
cmd_device_next(const char *path)
{
	out_line("next: sign the directory (alertctl directory sign) and "
	         "publish it to the relays;");
	out_line("then give %s to the official over a trusted channel (by "
	         "hand, not by mail) for 'alertctl enroll'; it holds the "
	         "device's secret key: delete it once enrolled",
	    path);
}

/* The device's box_key: the X25519 twin of its Ed25519 key, so what is
 * sealed to it (an operator's message in a signed acknowledgement) opens
 * with the key the enrollment bundle already carries (caller frees). */
static char *
cmd_device_box_key(const unsigned char *sk)
{
	unsigned char x[crypto_box_PUBLICKEYBYTES];

	if (crypto_sign_ed25519_pk_to_curve25519(x,
	        sk + crypto_sign_SEEDBYTES) != 0)
		log_fatalx("cannot make the device's box_key");
	return b64_encode(x, sizeof(x));
}

static int
cmd_device_add(struct orgdir *o, const struct device_opts *op,
    const char *alias)
{
	char id[ID_MAX + 1], *path = NULL, *pk64, *box64;
	unsigned char *sk;
	int rc = EXIT_FAIL;

	if (!directory_alias_valid(alias))
		return usage_error("device",
		    "the alias must be 1-%d bytes, no control character, bidi "
		    "override or isolate",
		    DIRECTORY_ALIAS_MAX);
	if (orgdir_new_id(o, "devices", alias, op->id, id) != 0 ||
	    !cmd_device_reachable(o))
		return EXIT_FAIL;
	sk = cmd_device_keypair(&pk64);
	box64 = cmd_device_box_key(sk);
	json_array_append_new(orgdir_list(o, "devices"),
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "alias", alias,
	        "public_key", pk64, "status", "active", "box_key", box64));
	free(box64);
	if (orgdir_check(o) != 0)
		goto out;
	path = cmd_device_bundle_path(o, op, id);
	if (cmd_device_bundle(o, id, alias, sk, path, AFILE_CREATE) != 0)
		goto out;
	if (orgdir_save(o) != 0) {
		unlink(path);
		goto out;
	}
	out_line("added device %s (%s); enrollment bundle: %s", id, alias,
	    path);
	cmd_device_next(path);
	rc = EXIT_OK;
out:
	seckey_free(sk);
	free(pk64);
	free(path);
	return rc;
}

static int
cmd_device_revoke(struct orgdir *o, const char *id)
{
	json_t *dev = orgdir_find(o, "devices", id, 1);
	const char *status;

	if (dev == NULL)
		return EXIT_FAIL;
	status = json_string_value(json_object_get(dev, "status"));
	if (status != NULL && strcmp(status, "revoked") == 0) {
		out_line("device %s was revoked already", id);
		return EXIT_OK;
	}
	json_object_set_new(dev, "status", json_string("revoked"));
	if (orgdir_save(o) != 0)
		return EXIT_FAIL;
	out_line("revoked device %s; sign the directory (alertctl directory "
	         "sign) and publish it: the relays then close its "
	         "connections and refuse it",
	    id);
	return EXIT_OK;
}

/* A check-in started before a rotation holds an alert signed with the
 * old key and dated at its release, up to the relay's [checkin]
 * max_duration ahead (default: a day, alertrelayd.conf(5)). */
#define DEVICE_RETIRED_CHECKIN_S (1440L * 60)

/* The key being replaced joins retired_keys, valid for envelopes dated
 * up to now plus DEVICE_RETIRED_CHECKIN_S, so that alerts in the
 * device's outbox and check-ins running still verify; the oldest ones go
 * beyond DIRECTORY_MAX_RETIRED. */
static void
cmd_device_retire(json_t *dev)
{
	json_t *retired = json_object_get(dev, "retired_keys");
	char now[RFC3339_LEN];

	if (!json_is_array(retired)) {
		retired = json_array();
		json_object_set_new(dev, "retired_keys", retired);
	}
	while (json_array_size(retired) >= DIRECTORY_MAX_RETIRED)
		json_array_remove(retired, 0);
	time_rfc3339(now, time(NULL) + DEVICE_RETIRED_CHECKIN_S);
	json_array_append_new(retired,
	    json_pack("{s:O, s:s}", "public_key",
	        json_object_get(dev, "public_key"), "until", now));
}

static int
cmd_device_rotate(struct orgdir *o, const struct device_opts *op,
    const char *id)
{
	json_t *dev = orgdir_find(o, "devices", id, 1);
	const char *status, *alias;
	char *path = NULL, *old, *pk64, *box64;
	unsigned char *sk;
	int rc = EXIT_FAIL;

	if (dev == NULL || !cmd_device_reachable(o))
		return EXIT_FAIL;
	status = json_string_value(json_object_get(dev, "status"));
	alias = json_string_value(json_object_get(dev, "alias"));
	if (status != NULL && strcmp(status, "revoked") == 0) {
		log_warnx("device %s is revoked: add it again under a new id",
		    id);
		return EXIT_FAIL;
	}
	sk = cmd_device_keypair(&pk64);
	cmd_device_retire(dev);
	json_object_set_new(dev, "public_key", json_string(pk64));
	box64 = cmd_device_box_key(sk);
	json_object_set_new(dev, "box_key", json_string(box64));
	free(box64);
	if (orgdir_check(o) != 0)
		goto out;
	/* The default bundle is replaced; a file named by -o never is. */
	path = cmd_device_bundle_path(o, op, id);
	if (cmd_device_bundle(o, id, alias, sk, path,
	        op->output != NULL ? AFILE_CREATE : AFILE_REPLACE) != 0)
		goto out;
	if (orgdir_save(o) != 0) {
		log_warnx("%s holds a key the directory does not know; rotate "
		          "again",
		    path);
		goto out;
	}
	/* The old bundle's key still verifies envelopes dated up to now:
	 * no copy of it stays behind. */
	old = orgdir_file(o, ORGDIR_DEVICES "/%s.bundle", id);
	if (op->output != NULL)
		unlink(old);
	free(old);
	out_line("rotated the key of device %s; new enrollment bundle: %s", id,
	    path);
	cmd_device_next(path);
	rc = EXIT_OK;
out:
	seckey_free(sk);
	free(pk64);
	free(path);
	return rc;
}

static int
cmd_device_list(struct orgdir *o)
{
	char alias[DIRECTORY_ALIAS_MAX * 4 + 1];
	const json_t *dev;
	size_t i;

	json_array_foreach(orgdir_list(o, "devices"), i, dev)
	{
		out_clean(json_string_value(json_object_get(dev, "alias")),
		    alias, sizeof(alias));
		if (out_line("%s\t%s\t%s",
		        json_string_value(json_object_get(dev, "id")), alias,
		        json_string_value(json_object_get(dev, "status"))) != 0)
			return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
cmd_device_options(int argc, char **argv, struct device_opts *op)
{
	static const struct option longopts[] = {
	    {"org", required_argument, NULL, OPT_ORG},
	    {"id", required_argument, NULL, OPT_ID},
	    {"output", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_ORG:
			op->org = optarg;
			break;
		case OPT_JSON:
			op->json = 1;
			break;
		case OPT_ID:
			op->id = optarg;
			break;
		case 'o':
			op->output = optarg;
			break;
		case 'h':
			usage_print("device", stdout);
			return -1;
		default:
			return usage_error("device", "bad option");
		}
	}
	return 0;
}

#define DEVICE_ID 0x1 /* takes --id */
#define DEVICE_OUTPUT 0x2 /* takes -o */
#define DEVICE_JSON 0x4 /* takes --json */

static const struct usage_sub device_subs[] = {
    {"add", "an alias", DEVICE_ID | DEVICE_OUTPUT},
    {"revoke", "a device id", 0},
    {"rotate", "a device id", DEVICE_OUTPUT},
    {"list", NULL, DEVICE_JSON},
};

static int
cmd_device_usage(const struct device_opts *op, const char *sub, int nargs)
{
	const struct usage_sub *d = usage_sub_find("device", device_subs,
	    sizeof(device_subs) / sizeof(device_subs[0]), sub, nargs);

	if (d == NULL)
		return EXIT_USAGE;
	if (op->id != NULL && !(d->options & DEVICE_ID))
		return usage_error("device", "--id is for add");
	if (op->output != NULL && !(d->options & DEVICE_OUTPUT))
		return usage_error("device", "-o is for add and rotate");
	if (op->json && !(d->options & DEVICE_JSON))
		return usage_error("device", "--json is for list");
	return 0;
}

int
cmd_device(int argc, char **argv, struct globals *g)
{
	struct device_opts op;
	struct orgdir o;
	const char *sub, *arg;
	int rc;

	(void)g;
	/* at the relay, not in the directory (cmd_forget.c) */
	if (argc >= 2 && strcmp(argv[1], "forget") == 0)
		return cmd_device_forget(argc - 1, argv + 1);
	memset(&op, 0, sizeof(op));
	if ((rc = cmd_device_options(argc, argv, &op)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	if (argc - optind < 1)
		return usage_error("device",
		    "expected add, revoke, rotate or list");
	sub = argv[optind];
	arg = argv[optind + 1];
	if ((rc = cmd_device_usage(&op, sub, argc - optind - 1)) != 0)
		return rc;
	if (orgdir_open(&o, op.org) != 0)
		return EXIT_FAIL;
	if (strcmp(sub, "add") == 0)
		rc = cmd_device_add(&o, &op, arg);
	else if (strcmp(sub, "revoke") == 0)
		rc = cmd_device_revoke(&o, arg);
	else if (strcmp(sub, "rotate") == 0)
		rc = cmd_device_rotate(&o, &op, arg);
	else if (op.json)
		rc = orgdir_json_devices(&o);
	else
		rc = cmd_device_list(&o);
	orgdir_close(&o);
	return rc;
}
