/*
 * alertctl recipient: the recipients alerts are sealed to, from the
 * administrator's side.
 *
 *	recipient add ALIAS [--id ID] [--webhook URL] [--sms NUMBER]
 *	recipient rotate ID
 *	recipient remove ID
 *	recipient list [--json]
 *
 * (each with [--org DIR]).  A recipient's X25519 secret key is kept as
 * ORG/recipients/ID.key for the contact point, and its Ed25519 signing
 * key (for signed acknowledgements, "sign_key" in the directory) as
 * ORG/recipients/ID.sign.key (public half ID.sign.pub).  A key that alerts were
 * sealed to is never deleted here: rotate keeps the old one as
 * ID.key.<unix time>, remove leaves the files, so that what was sealed
 * to them can still be opened.
 */
#include <errno.h>
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
#include "i18n.h"
#include "log.h"
#include "orgdir.h"
#include "orgdir_json.h"
#include "out.h"
#include "phone.h"
#include "seckey.h"
#include "usage.h"
#include "xmalloc.h"

struct recipient_opts {
	const char *org;
	const char *id;
	const char *webhook;
	const char *sms;
	char sms_e164[PHONE_MAX]; /* sms, normalised */
	int json; /* list --json */
};

enum { OPT_ORG = 256, OPT_ID, OPT_WEBHOOK, OPT_SMS, OPT_JSON };

struct recipient_keys {
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char *sk;
	char *pk64;
	char *skpath; /* ORG/recipients/ID.key */
	char *pkpath; /* ORG/recipients/ID.pub */
	unsigned char spk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *ssk;
	char *spk64;
	char *sskpath; /* ORG/recipients/ID.sign.key */
	char *spkpath; /* ORG/recipients/ID.sign.pub */
};

static void
cmd_recipient_keys_new(const struct orgdir *o, const char *id,
    struct recipient_keys *k)
{
	char *dir = orgdir_file(o, ORGDIR_RECIPIENTS), err[512];

	if (afile_mkdirs(dir, err, sizeof(err)) != 0)
		log_warnx("%s", err); /* and writing the keys fails */
	free(dir);
	k->sk = seckey_alloc(crypto_box_SECRETKEYBYTES);
	crypto_box_keypair(k->pk, k->sk);
	k->pk64 = b64_encode(k->pk, sizeof(k->pk));
	k->skpath = orgdir_file(o, ORGDIR_RECIPIENTS "/%s.key", id);
	k->pkpath = orgdir_file(o, ORGDIR_RECIPIENTS "/%s.pub", id);
	k->ssk = seckey_alloc(crypto_sign_SECRETKEYBYTES);
	crypto_sign_keypair(k->spk, k->ssk);
	k->spk64 = b64_encode(k->spk, sizeof(k->spk));
	k->sskpath = orgdir_file(o, ORGDIR_RECIPIENTS "/%s.sign.key", id);
	k->spkpath = orgdir_file(o, ORGDIR_RECIPIENTS "/%s.sign.pub", id);
}

static void
cmd_recipient_keys_free(struct recipient_keys *k)
{
	seckey_free(k->sk);
	free(k->pk64);
	free(k->skpath);
	free(k->pkpath);
	seckey_free(k->ssk);
	free(k->spk64);
	free(k->sskpath);
	free(k->spkpath);
}

/* ID.key and ID.pub, both or neither. */
static int
cmd_recipient_keys_write(const struct recipient_keys *k, enum afile_how how)
{
	char err[512];

	if (afile_write_b64(k->skpath, k->sk, crypto_box_SECRETKEYBYTES, 0600,
	        how, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (afile_write_b64(k->pkpath, k->pk, sizeof(k->pk), 0644, how, err,
	        sizeof(err)) != 0) {
		log_warnx("%s", err);
		if (how == AFILE_CREATE)
			unlink(k->skpath);
		return -1;
	}
	/* The signing key is replaced on rotate: nothing needs an old
	 * one (statements it signed were checked when they came). */
	if (afile_write_b64(k->sskpath, k->ssk, crypto_sign_SECRETKEYBYTES,
	        0600, AFILE_REPLACE, err, sizeof(err)) != 0 ||
	    afile_write_b64(k->spkpath, k->spk, sizeof(k->spk), 0644,
	        AFILE_REPLACE, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static json_t *
cmd_recipient_entry(const char *id, const char *alias,
    const struct recipient_keys *k, const struct recipient_opts *op)
{
	json_t *channels = json_object();

	if (op->webhook != NULL)
		json_object_set_new(channels, "webhook",
		    json_string(op->webhook));
	if (op->sms != NULL)
		json_object_set_new(channels, "sms", json_string(op->sms_e164));
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "alias", alias,
	    "public_key", k->pk64, "sign_key", k->spk64, "channels", channels);
}

/* A number as people write it, made E.164, saying so; or refused with
 * an example of one that works. */
static int
cmd_recipient_sms(struct recipient_opts *op)
{
	enum phone_result r;

	if (op->sms == NULL)
		return 0;
	r = phone_normalise(op->sms, op->sms_e164);
	if (r == PHONE_NORMALISED)
		out_line(_("phone number '%s' taken as %s"), op->sms,
		    op->sms_e164);
	else if (r != PHONE_OK)
		return usage_error("recipient",
		    _("--sms '%s': %s; for example %s"), op->sms,
		    _(phone_problem(r)), PHONE_EXAMPLE);
	return 0;
}

/* What to do next, for the channels the recipient has: only one that
 * receives webhooks opens alerts, so only then is there a key to hand
 * over. */
static void
cmd_recipient_advice(int webhook, int sms, const char *skpath)
{
	if (webhook)
		out_line(_("its secret key is %s: give it to the contact point "
		           "over a trusted channel (alertctl receive --key, or "
		           "recipient_key in [contactpoint]); then sign the "
		           "directory (alertctl directory sign)"),
		    skpath);
	else
		out_line(_("it is reached by SMS only: there is no key to hand "
		           "over (an SMS carries no content); sign the "
		           "directory (alertctl directory sign)"));
	if (sms)
		out_line(_("it takes an alarm by replying OK and the reference "
		           "to the SMS; for alertctl ack and inbox, give it an "
		           "ack token (alertctl keygen ack-token) and set it "
		           "as its ack_token_file at the relay"));
}

static int
cmd_recipient_add(struct orgdir *o, struct recipient_opts *op,
    const char *alias)
{
	struct recipient_keys k;
	char id[ID_MAX + 1];
	int rc = EXIT_FAIL;

	if (!directory_alias_valid(alias))
		return usage_error("recipient",
		    "the alias must be 1-%d bytes, no control character, bidi "
		    "override or isolate",
		    DIRECTORY_ALIAS_MAX);
	if (op->webhook == NULL && op->sms == NULL)
		return usage_error("recipient",
		    _("give --webhook, --sms or both: how the relay reaches "
		      "it"));
	if ((rc = cmd_recipient_sms(op)) != 0)
		return rc;
	if (orgdir_new_id(o, "recipients", alias, op->id, id) != 0)
		return EXIT_FAIL;
	memset(&k, 0, sizeof(k));
	cmd_recipient_keys_new(o, id, &k);
	json_array_append_new(orgdir_list(o, "recipients"),
	    cmd_recipient_entry(id, alias, &k, op));
	if (orgdir_check(o) != 0 ||
	    cmd_recipient_keys_write(&k, AFILE_CREATE) != 0)
		goto out;
	if (orgdir_save(o) != 0) {
		unlink(k.skpath);
		unlink(k.pkpath);
		unlink(k.sskpath);
		unlink(k.spkpath);
		goto out;
	}
	out_line(_("added recipient %s (%s), public key %s"), id, alias,
	    k.pk64);
	out_line(_("its acknowledgements are signed with %s (alertctl ack "
	           "--sign-key, or sign_key in [contactpoint])"),
	    k.sskpath);
	cmd_recipient_advice(op->webhook != NULL, op->sms != NULL, k.skpath);
	rc = EXIT_OK;
out:
	cmd_recipient_keys_free(&k);
	return rc;
}

/* ID.key stays as ID.key.<unix time>: a hard link, so the key is never
 * without a name, and never over an older one. */
static char *
cmd_recipient_keep(const char *skpath)
{
	char *kept = xasprintf("%s.%lld", skpath, (long long)time(NULL));

	if (link(skpath, kept) == 0)
		return kept;
	if (errno == ENOENT) {
		log_warnx("%s is not there: no old key to keep", skpath);
		free(kept);
		return xstrdup("");
	}
	log_warn("keeping %s as %s", skpath, kept);
	free(kept);
	return NULL;
}

static int
cmd_recipient_rotate(struct orgdir *o, const char *id)
{
	json_t *r = orgdir_find(o, "recipients", id, 1);
	struct recipient_keys k;
	char *kept = NULL;
	int rc = EXIT_FAIL;

	if (r == NULL)
		return EXIT_FAIL;
	memset(&k, 0, sizeof(k));
	cmd_recipient_keys_new(o, id, &k);
	json_object_set_new(r, "public_key", json_string(k.pk64));
	json_object_set_new(r, "sign_key", json_string(k.spk64));
	if (orgdir_check(o) != 0 ||
	    (kept = cmd_recipient_keep(k.skpath)) == NULL)
		goto out;
	if (cmd_recipient_keys_write(&k, AFILE_REPLACE) != 0 ||
	    orgdir_save(o) != 0) {
		log_warnx("the old key is in %s", *kept ? kept : "(none)");
		goto out;
	}
	out_line(_("rotated the key of recipient %s, public key %s"), id,
	    k.pk64);
	out_line(_("its acknowledgements are signed with %s (alertctl ack "
	           "--sign-key, or sign_key in [contactpoint])"),
	    k.sskpath);
	if (json_object_get(json_object_get(r, "channels"), "webhook") == NULL)
		out_line(_("it is reached by SMS only: there is no key to hand "
		           "over; sign the directory (alertctl directory "
		           "sign)"));
	else {
		if (*kept != '\0')
			out_line(
			    _("the old secret key stays as %s: the contact "
			      "point keeps using it (alertctl receive --key) "
			      "for what was sealed to it"),
			    kept);
		out_line(_("give %s to the contact point, then sign the "
		           "directory (alertctl directory sign)"),
		    k.skpath);
	}
	rc = EXIT_OK;
out:
	free(kept);
	cmd_recipient_keys_free(&k);
	return rc;
}

static int
cmd_recipient_remove(struct orgdir *o, const char *id)
{
	json_t *list = orgdir_list(o, "recipients"), *e;
	size_t i;

	if (orgdir_find(o, "recipients", id, 1) == NULL)
		return EXIT_FAIL;
	json_array_foreach(list, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "id")), id) ==
		    0)
			break;
	}
	json_array_remove(list, i);
	if (orgdir_save(o) != 0)
		return EXIT_FAIL;
	out_line("removed recipient %s; its key files stay in %s/%s for what "
	         "was sealed to it; sign the directory (alertctl directory "
	         "sign)",
	    id, o->path, ORGDIR_RECIPIENTS);
	return EXIT_OK;
}

static int
cmd_recipient_list(struct orgdir *o)
{
	char alias[DIRECTORY_ALIAS_MAX * 4 + 1], *ch;
	const json_t *r, *c;
	const char *webhook, *sms;
	size_t i;

	for (i = 0; i < json_array_size(orgdir_list(o, "recipients")); i++) {
		r = json_array_get(orgdir_list(o, "recipients"), i);
		c = json_object_get(r, "channels");
		webhook = json_string_value(json_object_get(c, "webhook"));
		sms = json_string_value(json_object_get(c, "sms"));
		ch = xasprintf("%s%s%s%s%s", webhook ? "webhook " : "",
		    webhook ? webhook : "", webhook && sms ? ", " : "",
		    sms ? "sms " : "", sms ? sms : "");
		out_clean(json_string_value(json_object_get(r, "alias")), alias,
		    sizeof(alias));
		out_line("%s\t%s\t%s",
		    json_string_value(json_object_get(r, "id")), alias, ch);
		free(ch);
	}
	return EXIT_OK;
}

static int
cmd_recipient_options(int argc, char **argv, struct recipient_opts *op)
{
	static const struct option longopts[] = {
	    {"org", required_argument, NULL, OPT_ORG},
	    {"id", required_argument, NULL, OPT_ID},
	    {"webhook", required_argument, NULL, OPT_WEBHOOK},
	    {"sms", required_argument, NULL, OPT_SMS},
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
		case OPT_ID:
			op->id = optarg;
			break;
		case OPT_WEBHOOK:
			op->webhook = optarg;
			break;
		case OPT_SMS:
			op->sms = optarg;
			break;
		case OPT_JSON:
			op->json = 1;
			break;
		case 'h':
			usage_print("recipient", stdout);
			return -1;
		default:
			return usage_error("recipient", "bad option");
		}
	}
	return 0;
}

static const struct usage_sub recipient_subs[] = {
    {"add", "an alias", 1}, /* 1: takes --id, --webhook, --sms */
    {"rotate", "a recipient id", 0},
    {"remove", "a recipient id", 0},
    {"list", NULL, 0},
};

static int
cmd_recipient_usage(const struct recipient_opts *op, const char *sub, int nargs)
{
	const struct usage_sub *r = usage_sub_find("recipient", recipient_subs,
	    sizeof(recipient_subs) / sizeof(recipient_subs[0]), sub, nargs);

	if (r == NULL)
		return EXIT_USAGE;
	if (!r->options &&
	    (op->id != NULL || op->webhook != NULL || op->sms != NULL))
		return usage_error("recipient",
		    "--id, --webhook and --sms are for add");
	if (op->json && strcmp(sub, "list") != 0)
		return usage_error("recipient", "--json is for list");
	return 0;
}

int
cmd_recipient(int argc, char **argv, struct globals *g)
{
	struct recipient_opts op;
	struct orgdir o;
	const char *sub, *arg;
	int rc;

	(void)g;
	memset(&op, 0, sizeof(op));
	if ((rc = cmd_recipient_options(argc, argv, &op)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	if (argc - optind < 1)
		return usage_error("recipient",
		    "expected add, rotate, remove or list");
	sub = argv[optind];
	arg = argv[optind + 1];
	if ((rc = cmd_recipient_usage(&op, sub, argc - optind - 1)) != 0)
		return rc;
	if (orgdir_open(&o, op.org) != 0)
		return EXIT_FAIL;
	if (strcmp(sub, "add") == 0)
		rc = cmd_recipient_add(&o, &op, arg);
	else if (strcmp(sub, "rotate") == 0)
		rc = cmd_recipient_rotate(&o, arg);
	else if (strcmp(sub, "remove") == 0)
		rc = cmd_recipient_remove(&o, arg);
	else if (op.json)
		rc = orgdir_json_recipients(&o);
	else
		rc = cmd_recipient_list(&o);
	orgdir_close(&o);
	return rc;
}
