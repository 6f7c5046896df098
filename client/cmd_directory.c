/*
 * alertctl directory: signing the organisation's directory, and
 * checking a signed one.
 *
 *	directory sign [--org DIR] [-o FILE]
 *	directory show FILE [--org DIR | --org-key BASE64]
 *
 * sign raises the version by one and stamps issued_at; the payload is
 * the source as jansson writes it (compact, keys sorted) and the
 * signature covers those bytes as they are (docs/DIRECTORY.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "afile.h"
#include "bundle.h"
#include "alertctl.h"
#include "b64.h"
#include "directory.h"
#include "keyfile.h"
#include "log.h"
#include "orgdir.h"
#include "out.h"
#include "seckey.h"
#include "usage.h"
#include "xmalloc.h"

struct directory_opts {
	const char *org;
	const char *org_key;
	const char *output;
};

enum { OPT_ORG = 256, OPT_ORG_KEY };

static size_t
cmd_directory_revoked(const struct directory *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->ndevices; i++)
		n += d->devices[i].revoked != 0;
	return n;
}

/* The next payload: the source with the version raised and issued_at
 * now.  NULL, logged, when it cannot be signed. */
static char *
cmd_directory_payload(struct orgdir *o, struct directory *d)
{
	json_t *v = json_object_get(o->src, "version");
	char now[RFC3339_LEN], err[512], *text;
	json_int_t next = json_integer_value(v) + 1;

	if (next > DIRECTORY_VERSION_MAX) {
		log_warnx("version %lld is the last one there can be",
		    (long long)json_integer_value(v));
		return NULL;
	}
	if (json_array_size(orgdir_list(o, "relays")) == 0 ||
	    json_array_size(orgdir_list(o, "relay_pins")) == 0) {
		log_warnx(
		    "not signed: a directory without relays or relay "
		    "pins leaves devices nowhere to go (alertctl org set)");
		return NULL;
	}
	time_rfc3339(now, time(NULL));
	json_object_set_new(o->src, "version", json_integer(next));
	json_object_set_new(o->src, "issued_at", json_string(now));
	text = json_dumps(o->src, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		log_fatalx("cannot write the payload as JSON");
	if (directory_parse(text, strlen(text), d, err, sizeof(err)) != 0) {
		log_warnx("not signed: %s", err);
		free(text);
		return NULL;
	}
	return text;
}

/* The signed file, checked with the key everyone else checks it with
 * before anyone gets it. */
static char *
cmd_directory_sign_payload(const char *payload, const unsigned char *sk)
{
	struct directory d;
	char *text, err[512];

	text = directory_sign(payload, strlen(payload), sk);
	if (directory_verify(text, strlen(text), sk + crypto_sign_SEEDBYTES, &d,
	        err, sizeof(err)) != 0)
		log_fatalx("the directory just signed does not verify: %s",
		    err);
	directory_free(&d);
	return text;
}

static int
cmd_directory_write(const char *path, const char *text)
{
	char *line = xasprintf("%s\n", text), err[512];
	int rc;

	if ((rc = afile_write(path, line, strlen(line), 0644, AFILE_REPLACE,
	         err, sizeof(err))) != 0)
		log_warnx("%s", err);
	free(line);
	return rc;
}

/* The bundles waiting under ORG/devices carry the newest directory, so
 * the devices enrolled with them refuse anything older (bundle.h).  A
 * bundle that cannot be brought up to date is said, not fatal: it still
 * carries the floor it was made with. */
static void
cmd_directory_bundles(const struct orgdir *o, const struct directory *d,
    const char *text)
{
	char *path, err[512];
	size_t i, n = 0;
	int rc;

	for (i = 0; i < d->ndevices; i++) {
		if (d->devices[i].revoked)
			continue;
		path = orgdir_file(o, ORGDIR_DEVICES "/%s.bundle",
		    d->devices[i].id);
		if (afile_exists(path)) {
			if ((rc = bundle_set_directory(path, text, err,
			         sizeof(err))) < 0)
				log_warnx("%s", err);
			else
				n += (size_t)rc;
		}
		free(path);
	}
	if (n > 0)
		out_line("%zu enrollment bundle(s) under %s now carry version "
		         "%lld",
		    n, ORGDIR_DEVICES, d->version);
}

static int
cmd_directory_sign(const struct directory_opts *op)
{
	struct directory d;
	struct orgdir o;
	unsigned char *sk = NULL;
	char *payload = NULL, *text = NULL, *path = NULL;
	int rc = EXIT_FAIL;

	memset(&d, 0, sizeof(d));
	if (orgdir_open(&o, op->org) != 0)
		return EXIT_FAIL;
	if ((sk = orgdir_key(&o)) == NULL ||
	    (payload = cmd_directory_payload(&o, &d)) == NULL)
		goto out;
	text = cmd_directory_sign_payload(payload, sk);
	/* The new version is saved first: should writing the signed file
	 * fail, the next signing skips a version, which is harmless, and
	 * never signs another payload under this one, which everyone
	 * who saw this one would refuse. */
	path = orgdir_file(&o, ORGDIR_SIGNED);
	if (orgdir_save(&o) != 0 || cmd_directory_write(path, text) != 0 ||
	    (op->output != NULL && cmd_directory_write(op->output, text) != 0))
		goto out;
	out_line("signed directory version %lld: %zu devices (%zu revoked), "
	         "%zu recipients",
	    d.version, d.ndevices, cmd_directory_revoked(&d), d.nrecipients);
	out_line("written to %s%s%s; give it to the relays ([relay] "
	         "directory) and run alertctl reload there",
	    path, op->output != NULL ? " and " : "",
	    op->output != NULL ? op->output : "");
	cmd_directory_bundles(&o, &d, text);
	rc = EXIT_OK;
out:
	directory_free(&d);
	seckey_free(sk);
	free(payload);
	free(text);
	free(path);
	orgdir_close(&o);
	return rc;
}

static void
cmd_directory_print_list(const char *label, char *const *v, size_t n)
{
	char *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < n; i++) {
		t = xasprintf("%s%s%s", s, i > 0 ? ", " : "", v[i]);
		free(s);
		s = t;
	}
	out_line("%s: %s", label, n > 0 ? s : "(none)");
	free(s);
}

static void
cmd_directory_print_devices(const struct directory *d)
{
	const struct dir_device *dev;
	char alias[DIRECTORY_ALIAS_MAX * 4 + 1];
	size_t i;

	out_line("devices: %zu (%zu revoked)", d->ndevices,
	    cmd_directory_revoked(d));
	for (i = 0; i < d->ndevices; i++) {
		dev = &d->devices[i];
		out_clean(dev->alias, alias, sizeof(alias));
		if (dev->nretired > 0)
			out_line("device %s (%s): %s, %zu retired key%s",
			    dev->id, alias, dev->revoked ? "revoked" : "active",
			    dev->nretired, dev->nretired > 1 ? "s" : "");
		else
			out_line("device %s (%s): %s", dev->id, alias,
			    dev->revoked ? "revoked" : "active");
	}
}

static void
cmd_directory_print_recipients(const struct directory *d)
{
	const struct dir_recipient *r;
	char alias[DIRECTORY_ALIAS_MAX * 4 + 1], webhook[512];
	size_t i;

	out_line("recipients: %zu", d->nrecipients);
	for (i = 0; i < d->nrecipients; i++) {
		r = &d->recipients[i];
		out_line("recipient %s (%s): %s%s%s%s%s", r->id,
		    out_clean(r->alias, alias, sizeof(alias)),
		    r->webhook != NULL ? "webhook " : "",
		    r->webhook != NULL
		        ? out_clean(r->webhook, webhook, sizeof(webhook))
		        : "",
		    r->webhook != NULL && r->sms != NULL ? ", " : "",
		    r->sms != NULL ? "sms " : "", r->sms != NULL ? r->sms : "");
	}
}

/* The organisation key: --org-key, else org.pub of the organisation
 * directory. */
static int
cmd_directory_org_key(const struct directory_opts *op,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	struct orgdir o;
	int rc;

	char err[512];

	if (op->org_key != NULL) {
		if (keyfile_pubkey(NULL, op->org_key, pk,
		        crypto_sign_PUBLICKEYBYTES, err, sizeof(err)) == 0)
			return 0;
		return usage_error("directory",
		    "--org-key is the base64 Ed25519 key of org.pub, or that "
		    "file (%s)",
		    err);
	}
	memset(&o, 0, sizeof(o));
	if ((o.path = orgdir_path(op->org)) == NULL) {
		log_warnx("give --org-key or --org");
		return EXIT_FAIL;
	}
	rc = orgdir_pub(&o, pk) == 0 ? 0 : EXIT_FAIL;
	orgdir_close(&o);
	return rc;
}

static int
cmd_directory_show(const struct directory_opts *op, const char *file)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char issued[RFC3339_LEN], err[512];
	struct directory d;
	int rc;

	if ((rc = cmd_directory_org_key(op, pk)) != 0)
		return rc;
	if (directory_load(file, pk, &d, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return EXIT_FAIL;
	}
	time_rfc3339(issued, d.issued_at);
	out_line("directory version %lld, issued at %s: signature ok",
	    d.version, d.issued_at != 0 ? issued : "(not given)");
	cmd_directory_print_list("relays", d.relays, d.nrelays);
	cmd_directory_print_list("relay pins", d.pins, d.npins);
	cmd_directory_print_devices(&d);
	cmd_directory_print_recipients(&d);
	directory_free(&d);
	return EXIT_OK;
}

static int
cmd_directory_options(int argc, char **argv, struct directory_opts *op)
{
	static const struct option longopts[] = {
	    {"org", required_argument, NULL, OPT_ORG},
	    {"org-key", required_argument, NULL, OPT_ORG_KEY},
	    {"output", required_argument, NULL, 'o'},
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
		case OPT_ORG_KEY:
			op->org_key = optarg;
			break;
		case 'o':
			op->output = optarg;
			break;
		case 'h':
			usage_print("directory", stdout);
			return -1;
		default:
			return usage_error("directory", "bad option");
		}
	}
	return 0;
}

int
cmd_directory(int argc, char **argv, struct globals *g)
{
	struct directory_opts op;
	const char *sub;
	int rc, nargs;

	(void)g;
	memset(&op, 0, sizeof(op));
	if ((rc = cmd_directory_options(argc, argv, &op)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	if (argc - optind < 1)
		return usage_error("directory", "expected sign or show");
	sub = argv[optind];
	nargs = argc - optind - 1;
	if (strcmp(sub, "sign") == 0) {
		if (nargs != 0 || op.org_key != NULL)
			return usage_error("directory",
			    "sign takes only --org and -o");
		return cmd_directory_sign(&op);
	}
	if (strcmp(sub, "show") == 0) {
		if (nargs != 1 || op.output != NULL)
			return usage_error("directory",
			    "show takes a file, and --org or --org-key");
		if (op.org != NULL && op.org_key != NULL)
			return usage_error("directory",
			    "give --org or --org-key, not both");
		return cmd_directory_show(&op, argv[optind + 1]);
	}
	return usage_error("directory", "unknown subcommand '%s'", sub);
}
