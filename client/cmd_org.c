/*
 * alertctl org: the organisation, from the administrator's side.
 *
 *	org init [--org DIR] [--relay HOST:PORT]... [--pin PIN]...
 *	org set [--org DIR] [--relay HOST:PORT]... [--pin PIN]...
 *	org show [--org DIR] [--json]
 *
 * init makes the organisation key and the directory's source; set
 * replaces the relays or the pins the next signed directory announces
 * (with two pins while the relay's certificate is being replaced).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "out.h"
#include "seckey.h"
#include "usage.h"
#include "xmalloc.h"

struct org_opts {
	const char *org;
	json_t *relays; /* NULL: not given */
	json_t *pins;
	int json; /* show --json */
};

enum { OPT_ORG = 256, OPT_RELAY, OPT_PIN, OPT_JSON };

/* An option that makes a list (--relay, --pin). */
struct org_list_opt {
	const char *name;
	const char *form; /* what a valid value is, for messages */
	size_t max;
	int (*valid)(const char *);
};

static const struct org_list_opt org_relay_opt = {"--relay", "host:port",
    DIRECTORY_MAX_RELAYS, bundle_relay_valid};
static const struct org_list_opt org_pin_opt = {"--pin",
    "a pin (see alertctl pin)", DIRECTORY_MAX_PINS, bundle_pin_valid};

/* Adds a value to its list; a usage error when it is not valid, one
 * too many or given twice. */
static int
cmd_org_add(json_t **list, const char *v, const struct org_list_opt *opt)
{
	json_t *e;
	size_t i;

	if (!opt->valid(v))
		return usage_error("org", "%s '%s' is not %s", opt->name, v,
		    opt->form);
	if (*list == NULL)
		*list = json_array();
	json_array_foreach(*list, i, e)
	{
		if (strcmp(json_string_value(e), v) == 0)
			return usage_error("org", "%s '%s' given twice",
			    opt->name, v);
	}
	if (json_array_size(*list) == opt->max)
		return usage_error("org", "more than %zu of %s", opt->max,
		    opt->name);
	json_array_append_new(*list, json_string(v));
	return 0;
}

static char *
cmd_org_join(const json_t *list)
{
	char *s = NULL, *t;
	const json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
	{
		t = xasprintf("%s%s%s", s != NULL ? s : "",
		    s != NULL ? ", " : "", json_string_value(e));
		free(s);
		s = t;
	}
	return s != NULL ? s : xstrdup("(none)");
}

static void
cmd_org_print_list(const char *label, const json_t *list)
{
	char *s = cmd_org_join(list);

	out_line("%s: %s", label, s);
	free(s);
}

/* org.key, then org.pub; both or neither.  Prints the public key. */
static int
cmd_org_keys(const struct orgdir *o)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = seckey_alloc(crypto_sign_SECRETKEYBYTES);
	char *key = orgdir_file(o, ORGDIR_KEY),
	     *pub = orgdir_file(o, ORGDIR_PUB);
	char err[512], *b64;
	int rc = -1;

	crypto_sign_keypair(pk, sk);
	if (afile_write_b64(key, sk, crypto_sign_SECRETKEYBYTES, 0600,
	        AFILE_CREATE, err, sizeof(err)) != 0)
		log_warnx("%s", err);
	else if (afile_write_b64(pub, pk, sizeof(pk), 0644, AFILE_CREATE, err,
	             sizeof(err)) != 0) {
		log_warnx("%s", err);
		unlink(key);
	} else {
		b64 = b64_encode(pk, sizeof(pk));
		out_line("%s", b64);
		free(b64);
		rc = 0;
	}
	seckey_free(sk);
	free(key);
	free(pub);
	return rc;
}

/* Refuses a directory that already holds (part of) an organisation. */
static int
cmd_org_fresh(const struct orgdir *o)
{
	static const char *const names[] = {ORGDIR_KEY, ORGDIR_PUB,
	    ORGDIR_SOURCE};
	char *path;
	size_t i;
	int taken = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]) && !taken; i++) {
		path = orgdir_file(o, "%s", names[i]);
		if ((taken = afile_exists(path)))
			log_warnx("%s already exists: %s holds an "
			          "organisation (see alertctl org show)",
			    path, o->path);
		free(path);
	}
	return taken ? -1 : 0;
}

static int
cmd_org_mkdirs(const struct orgdir *o)
{
	static const char *const sub[] = {"", "/" ORGDIR_DEVICES,
	    "/" ORGDIR_RECIPIENTS};
	char *path, err[512];
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]) && rc == 0; i++) {
		path = xasprintf("%s%s", o->path, sub[i]);
		if ((rc = afile_mkdirs(path, err, sizeof(err))) != 0)
			log_warnx("%s", err);
		free(path);
	}
	return rc;
}

/* An organisation whose source could not be written is no
 * organisation: its keys go, so that init can be run again. */
static void
cmd_org_unkey(const struct orgdir *o)
{
	char *path;

	path = orgdir_file(o, ORGDIR_KEY);
	unlink(path);
	free(path);
	path = orgdir_file(o, ORGDIR_PUB);
	unlink(path);
	free(path);
}

static int
cmd_org_init(struct org_opts *op)
{
	struct orgdir o;

	memset(&o, 0, sizeof(o));
	if ((o.path = orgdir_path(op->org)) == NULL) {
		log_warnx("no home directory: give --org DIR");
		return EXIT_FAIL;
	}
	if (cmd_org_fresh(&o) != 0 || cmd_org_mkdirs(&o) != 0) {
		orgdir_close(&o);
		return EXIT_FAIL;
	}
	o.src = json_pack("{s:i, s:o, s:o, s:[], s:[]}", "version", 0, "relays",
	    op->relays != NULL ? json_incref(op->relays) : json_array(),
	    "relay_pins",
	    op->pins != NULL ? json_incref(op->pins) : json_array(), "devices",
	    "recipients");
	if (o.src == NULL)
		log_fatalx("org init: cannot build the source");
	if (orgdir_check(&o) != 0 || cmd_org_keys(&o) != 0) {
		orgdir_close(&o);
		return EXIT_FAIL;
	}
	if (orgdir_save(&o) != 0) {
		cmd_org_unkey(&o);
		orgdir_close(&o);
		return EXIT_FAIL;
	}
	out_line("organisation created in %s; its public key, above, is in "
	         "%s/%s",
	    o.path, o.path, ORGDIR_PUB);
	out_line("keep %s/%s offline and backed up: it signs the directory",
	    o.path, ORGDIR_KEY);
	if (json_array_size(orgdir_list(&o, "relays")) == 0 ||
	    json_array_size(orgdir_list(&o, "relay_pins")) == 0)
		out_line("next: alertctl org set --relay HOST:PORT --pin PIN");
	orgdir_close(&o);
	return EXIT_OK;
}

static int
cmd_org_set(struct org_opts *op)
{
	struct orgdir o;
	int rc = EXIT_FAIL;

	if (op->relays == NULL && op->pins == NULL)
		return usage_error("org", "set needs --relay or --pin");
	if (orgdir_open(&o, op->org) != 0)
		return EXIT_FAIL;
	if (op->relays != NULL)
		json_object_set(o.src, "relays", op->relays);
	if (op->pins != NULL)
		json_object_set(o.src, "relay_pins", op->pins);
	if (orgdir_save(&o) == 0) {
		cmd_org_print_list("relays", orgdir_list(&o, "relays"));
		cmd_org_print_list("relay pins", orgdir_list(&o, "relay_pins"));
		out_line("sign the directory to publish this: alertctl "
		         "directory sign");
		rc = EXIT_OK;
	}
	orgdir_close(&o);
	return rc;
}

/* Does the source differ from the payload of the last signed
 * directory?  Signing saves its version and issued_at in the source, so
 * an unchanged source equals that payload. */
static const char *
cmd_org_pending(const struct orgdir *o, const unsigned char *pk)
{
	char *path = orgdir_file(o, ORGDIR_SIGNED), err[512];
	unsigned char *payload;
	struct directory d;
	const char *p64, *state = "yes (no directory.signed yet)";
	size_t plen;
	json_t *signed_file, *last;

	if (directory_load(path, pk, &d, err, sizeof(err)) == 0) {
		signed_file = json_loads(d.signed_text, 0, NULL);
		p64 =
		    json_string_value(json_object_get(signed_file, "payload"));
		state = "yes";
		if (p64 != NULL &&
		    b64_decode(p64, strlen(p64), &payload, &plen) == 0) {
			last = json_loadb((char *)payload, plen, 0, NULL);
			if (json_equal(last, o->src))
				state = "no";
			json_decref(last);
			free(payload);
		}
		json_decref(signed_file);
		directory_free(&d);
	} else if (afile_exists(path))
		state = "unknown (directory.signed does not verify)";
	free(path);
	return state;
}

static void
cmd_org_counts(const struct orgdir *o)
{
	const json_t *e;
	size_t i, revoked = 0;

	json_array_foreach(orgdir_list(o, "devices"), i, e)
	{
		const char *s = json_string_value(json_object_get(e, "status"));

		revoked += s != NULL && strcmp(s, "revoked") == 0;
	}
	out_line("devices: %zu (%zu revoked)",
	    json_array_size(orgdir_list(o, "devices")), revoked);
	out_line("recipients: %zu",
	    json_array_size(orgdir_list(o, "recipients")));
}

/* show --json: one document, stable keys (alertctl(1), JSON OUTPUT);
 * unsigned_changes is null when directory.signed does not verify. */
static int
cmd_org_show_json(const struct orgdir *o, const unsigned char *pk,
    const char *b64)
{
	const char *pending = cmd_org_pending(o, pk);
	json_t *issued = json_object_get(o->src, "issued_at"), *doc, *e;
	size_t i, revoked = 0;
	int rc;

	json_array_foreach(orgdir_list(o, "devices"), i, e)
	{
		const char *s = json_string_value(json_object_get(e, "status"));

		revoked += s != NULL && strcmp(s, "revoked") == 0;
	}
	doc = json_pack("{s:s, s:s, s:I, s:O, s:o, s:O, s:O, s:I, s:I, s:I}",
	    "org_key", b64, "directory", o->path, "version",
	    (json_int_t)json_integer_value(json_object_get(o->src, "version")),
	    "issued_at", issued != NULL ? issued : json_null(),
	    "unsigned_changes",
	    strncmp(pending, "unknown", 7) == 0
	        ? json_null()
	        : json_boolean(pending[0] == 'y'),
	    "relays", orgdir_list(o, "relays"), "relay_pins",
	    orgdir_list(o, "relay_pins"), "devices",
	    (json_int_t)json_array_size(orgdir_list(o, "devices")),
	    "devices_revoked", (json_int_t)revoked, "recipients",
	    (json_int_t)json_array_size(orgdir_list(o, "recipients")));
	rc = doc != NULL && out_json(doc) == 0 ? EXIT_OK : EXIT_FAIL;
	json_decref(doc);
	return rc;
}

static int
cmd_org_show(struct org_opts *op)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	const char *issued;
	struct orgdir o;
	char *b64;
	int rc;

	if (orgdir_open(&o, op->org) != 0)
		return EXIT_FAIL;
	if (orgdir_pub(&o, pk) != 0) {
		orgdir_close(&o);
		return EXIT_FAIL;
	}
	b64 = b64_encode(pk, sizeof(pk));
	if (op->json) {
		rc = cmd_org_show_json(&o, pk, b64);
		free(b64);
		orgdir_close(&o);
		return rc;
	}
	out_line("organisation key: %s", b64);
	free(b64);
	out_line("directory: %s", o.path);
	issued = json_string_value(json_object_get(o.src, "issued_at"));
	out_line("version last signed: %lld%s%s",
	    (long long)json_integer_value(json_object_get(o.src, "version")),
	    issued != NULL ? ", issued at " : " (never signed)",
	    issued != NULL ? issued : "");
	out_line("unsigned changes: %s", cmd_org_pending(&o, pk));
	cmd_org_print_list("relays", orgdir_list(&o, "relays"));
	cmd_org_print_list("relay pins", orgdir_list(&o, "relay_pins"));
	cmd_org_counts(&o);
	orgdir_close(&o);
	return EXIT_OK;
}

static int
cmd_org_options(int argc, char **argv, struct org_opts *op)
{
	static const struct option longopts[] = {
	    {"org", required_argument, NULL, OPT_ORG},
	    {"relay", required_argument, NULL, OPT_RELAY},
	    {"pin", required_argument, NULL, OPT_PIN},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_ORG:
			op->org = optarg;
			break;
		case OPT_RELAY:
			if (cmd_org_add(&op->relays, optarg, &org_relay_opt))
				return EXIT_USAGE;
			break;
		case OPT_PIN:
			if (cmd_org_add(&op->pins, optarg, &org_pin_opt))
				return EXIT_USAGE;
			break;
		case OPT_JSON:
			op->json = 1;
			break;
		case 'h':
			usage_print("org", stdout);
			return -1;
		default:
			return usage_error("org", "bad option");
		}
	}
	return 0;
}

int
cmd_org(int argc, char **argv, struct globals *g)
{
	struct org_opts op;
	const char *sub;
	int rc;

	(void)g;
	memset(&op, 0, sizeof(op));
	if ((rc = cmd_org_options(argc, argv, &op)) != 0)
		rc = rc == -1 ? EXIT_OK : rc;
	else if (argc - optind != 1)
		rc = usage_error("org", "expected init, set or show");
	else if (op.json && strcmp(argv[optind], "show") != 0)
		rc = usage_error("org", "--json is for show");
	else if (strcmp((sub = argv[optind]), "init") == 0)
		rc = cmd_org_init(&op);
	else if (strcmp(sub, "set") == 0)
		rc = cmd_org_set(&op);
	else if (strcmp(sub, "show") == 0 && op.relays == NULL &&
	    op.pins == NULL)
		rc = cmd_org_show(&op);
	else if (strcmp(sub, "show") == 0)
		rc = usage_error("org", "show takes only --org and --json");

	else
		rc = usage_error("org", "unknown subcommand '%s'", sub);
	json_decref(op.relays);
	json_decref(op.pins);
	return rc;
}
