/*
 * alertctl audit: the relay's audit log, for the administrator and the
 * auditor (alertctl(1), AUDIT).
 *
 *	audit keygen PREFIX		the relay's audit key pair:
 *					PREFIX.key (0600) and PREFIX.pub
 *	audit export [--since T] [--until T] [--format json|csv]
 *	audit verify [--public-key-file F | --public-key B64]
 *
 * export and verify read the records of one relay instance from its
 * admin listener (GET /audit, with the admin token; --instance for
 * another instance on the same Redis) or, with --file, from an audit
 * file or an export in json format.  json is the records' own lines, so
 * an export verifies like the log itself.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "admin_request.h"
#include "alertctl.h"
#include "audit_record.h"
#include "audit_verify.h"
#include "b64.h"
#include "keyfile.h"
#include "log.h"
#include "out.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

#define AUDIT_TIMEOUT_S 30L
#define AUDIT_PAGES_MAX 1000000L /* a bound on the loop, ~100M records */
#define AUDIT_PAGES_BURST 30 /* pages at once, then paced */
#define AUDIT_PAGE_PAUSE_US 60000

struct audit_opts {
	const char *admin;
	const char *token_file;
	const char *instance;
	const char *file;
	const char *format;
	const char *pk_file;
	const char *pk_b64;
	time_t since, until; /* 0: not given */
};

/* Each record's line, in order; returns non-zero to stop. */
typedef int (*audit_line_cb)(const char *line, size_t len, void *arg);

static int
audit_from_file(const struct audit_opts *o, audit_line_cb cb, void *arg)
{
	FILE *f = fopen(o->file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (f == NULL) {
		log_warn("audit: %s", o->file);
		return -1;
	}
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		rc = cb(line, (size_t)n, arg);
	}
	free(line);
	fclose(f);
	return rc > 0 ? rc : 0;
}

/* One page from the relay: the answer, or NULL (said). */
static json_t *
audit_page(const struct audit_opts *o, const char *after)
{
	char *esc_inst = NULL, *esc_after, *path;
	struct admin_request q = {"audit", o->admin, o->token_file, NULL, NULL,
	    0, AUDIT_TIMEOUT_S};
	struct http_reply *r = xcalloc(1, sizeof(*r));
	json_t *a = NULL;

	esc_after = curl_easy_escape(NULL, after, 0);
	if (o->instance != NULL)
		esc_inst = curl_easy_escape(NULL, o->instance, 0);
	path = xasprintf("/audit?count=1000&after=%s%s%s", esc_after,
	    esc_inst ? "&instance=" : "", esc_inst ? esc_inst : "");
	q.path = path;
	if (admin_request_run(&q, r) == 0) {
		a = json_loadb(r->body, r->len, 0, NULL);
		if (r->status != 200 ||
		    !json_is_array(json_object_get(a, "records"))) {
			log_warnx("audit: HTTP %ld from %s", r->status,
			    o->admin);
			json_decref(a);
			a = NULL;
		}
	}
	curl_free(esc_after);
	curl_free(esc_inst);
	free(path);
	free(r);
	return a;
}

/* Pages through the relay; *head and *last (may be NULL) get the
 * relay's last signed head and last record, from the first page. */
static int
audit_from_relay(const struct audit_opts *o, audit_line_cb cb, void *arg,
    char **head, char **last)
{
	char after[64] = "-";
	json_t *page, *recs;
	struct audit_record r;
	const char *why, *h, *l;
	long long stop_at = 0; /* the last record when we began */
	size_t i;
	long pages;
	int rc = 0;

	if (admin_request_token_given("audit", o->token_file) != 0)
		return -1;
	if (o->since > 0) /* stream ids are milliseconds; a minute early */
		snprintf(after, sizeof(after), "%lld",
		    ((long long)o->since - 60) * 1000);
	for (pages = 0; pages < AUDIT_PAGES_MAX && rc == 0; pages++) {
		/* within the admin listener's connection rate (20/s) */
		if (pages >= AUDIT_PAGES_BURST)
			usleep(AUDIT_PAGE_PAUSE_US);
		if ((page = audit_page(o, after)) == NULL)
			return -1;
		h = json_string_value(json_object_get(page, "head"));
		l = json_string_value(json_object_get(page, "last"));
		if (pages == 0 && l != NULL &&
		    audit_record_parse(l, strlen(l), &r, &why) == 0)
			stop_at = r.seq;
		if (pages == 0 && head != NULL) {
			*head = h ? xstrdup(h) : NULL;
			*last = l ? xstrdup(l) : NULL;
		}
		/* Each page asked for is itself recorded: stop at the
		 * record that was the last when we began. */
		recs = json_object_get(page, "records");
		for (i = 0; i < json_array_size(recs) && rc == 0; i++) {
			const char *line =
			    json_string_value(json_array_get(recs, i));

			if (line == NULL)
				continue;
			rc = cb(line, strlen(line), arg);
			if (stop_at > 0 &&
			    audit_record_parse(line, strlen(line), &r, &why) ==
			        0 &&
			    r.seq >= stop_at) {
				json_decref(page);
				return rc > 0 ? rc : 0;
			}
		}
		if (json_array_size(recs) == 0 ||
		    !json_is_string(json_object_get(page, "next"))) {
			json_decref(page);
			break;
		}
		snprintf(after, sizeof(after), "%s",
		    json_string_value(json_object_get(page, "next")));
		json_decref(page);
	}
	return rc > 0 ? rc : 0;
}

static int
audit_head_from_relay(const struct audit_opts *o, char **head, char **last)
{
	json_t *page = audit_page(o, "+");
	const char *h, *l;

	if (page == NULL)
		return -1;
	h = json_string_value(json_object_get(page, "head"));
	l = json_string_value(json_object_get(page, "last"));
	*head = h ? xstrdup(h) : NULL;
	*last = l ? xstrdup(l) : NULL;
	json_decref(page);
	return 0;
}

static int
audit_each(const struct audit_opts *o, audit_line_cb cb, void *arg, char **head,
    char **last)
{
	if (head != NULL)
		*head = *last = NULL;
	if (o->file == NULL)
		return audit_from_relay(o, cb, arg, head, last);
	/* With the admin token, a file is held against the relay's last
	 * signed head and last record (a cut tail shows). */
	if (head != NULL && o->token_file != NULL &&
	    audit_head_from_relay(o, head, last) != 0)
		return -1;
	return audit_from_file(o, cb, arg);
}

/* --since/--until: at the second; since included, until not. */
static int
audit_in_range(const struct audit_opts *o, const char *line, size_t len)
{
	struct audit_record r;
	const char *why;
	time_t t;

	if (o->since == 0 && o->until == 0)
		return 1;
	if (audit_record_parse(line, len, &r, &why) != 0 ||
	    time_rfc3339_parse(r.time, &t) != 0)
		return 1; /* kept: verify names it */
	return (o->since == 0 || t >= o->since) &&
	    (o->until == 0 || t < o->until);
}

/* --- export --- */

static void
audit_csv_field(const char *v, int last)
{
	if (strpbrk(v, ",\"\r\n") == NULL)
		fputs(v, stdout);
	else {
		putchar('"');
		for (; *v != '\0'; v++) {
			if (*v == '"')
				putchar('"');
			putchar(*v);
		}
		putchar('"');
	}
	putchar(last ? '\n' : ',');
}

#define AUDIT_CSV_HEADER                                                       \
	"seq,time,instance,action,object,result,address,channel,actor,"        \
	"reason,prev,sig"

static int
audit_export_line(const char *line, size_t len, void *arg)
{
	const struct audit_opts *o = arg;
	struct audit_record r;
	const char *why;
	char seq[24];

	if (!audit_in_range(o, line, len))
		return 0;
	if (strcmp(o->format, "json") == 0) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
		return ferror(stdout) ? -1 : 0;
	}
	if (audit_record_parse(line, len, &r, &why) != 0) {
		log_warnx("audit: a record does not parse (%s); skipped in "
		          "csv (audit verify names it)",
		    why);
		return 0;
	}
	snprintf(seq, sizeof(seq), "%lld", r.seq);
	audit_csv_field(seq, 0);
	audit_csv_field(r.time, 0);
	audit_csv_field(r.instance, 0);
	audit_csv_field(r.action, 0);
	audit_csv_field(r.object, 0);
	audit_csv_field(r.result, 0);
	audit_csv_field(r.address, 0);
	audit_csv_field(r.channel, 0);
	audit_csv_field(r.actor, 0);
	audit_csv_field(r.reason, 0);
	audit_csv_field(r.prev, 0);
	audit_csv_field(r.sig, 1);
	return ferror(stdout) ? -1 : 0;
}

static int
audit_export(const struct audit_opts *o)
{
	if (strcmp(o->format, "csv") == 0)
		out_line(AUDIT_CSV_HEADER);
	if (audit_each(o, audit_export_line, (void *)o, NULL, NULL) != 0)
		return EXIT_FAIL;
	return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_FAIL;
}

/* --- verify --- */

struct audit_verify_run {
	const struct audit_opts *o;
	struct audit_verify v;
	char **head, **last; /* what Redis has, set before the first line */
	int expected; /* held against the lines already */
};

/* A slice in time proves nothing about the end of the log. */
static int
audit_whole_log(const struct audit_opts *o)
{
	return o->since == 0 && o->until == 0;
}

static int
audit_verify_cb(const char *line, size_t len, void *arg)
{
	struct audit_verify_run *run = arg;

	if (!audit_in_range(run->o, line, len))
		return 0;
	if (!run->expected && audit_whole_log(run->o)) {
		audit_verify_expect(&run->v, *run->head, *run->last);
		run->expected = 1;
	}
	return audit_verify_line(&run->v, line, len) != 0 ? 1 : 0;
}

static int
audit_public_key(const struct audit_opts *o,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	char err[512];

	if (o->pk_b64 != NULL) {
		if (b64_decode_exact(o->pk_b64, pk,
		        crypto_sign_PUBLICKEYBYTES) == 0)
			return 1;
		log_warnx("audit: --public-key is not a base64 Ed25519 key");
		return -1;
	}
	if (o->pk_file != NULL) {
		if (keyfile_read(o->pk_file, pk, crypto_sign_PUBLICKEYBYTES, 0,
		        err, sizeof(err)) == 0)
			return 1;
		log_warnx("audit: %s", err);
		return -1;
	}
	return 0;
}

static int
audit_verify(const struct audit_opts *o)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	struct audit_verify_run run;
	char *head = NULL, *last = NULL;
	int have_pk, rc;

	if ((have_pk = audit_public_key(o, pk)) < 0)
		return EXIT_USAGE;
	memset(&run, 0, sizeof(run));
	run.o = o;
	run.head = &head;
	run.last = &last;
	/* Fetched first: the head and last record come with page one. */
	audit_verify_init(&run.v, have_pk ? pk : NULL, NULL, NULL);
	rc = audit_each(o, audit_verify_cb, &run, &head, &last);
	if (rc < 0) {
		audit_verify_free(&run.v);
		free(head);
		free(last);
		return EXIT_FAIL;
	}
	if (!run.expected && audit_whole_log(o)) /* no line at all */
		audit_verify_expect(&run.v, head, last);
	free(head);
	free(last);
	if (audit_verify_end(&run.v) != 0) {
		out_line("audit verify: FAILED at record %lld: %s", run.v.bad,
		    run.v.why);
		audit_verify_free(&run.v);
		return EXIT_FAIL;
	}
	if (run.v.n == 0)
		out_line("audit verify: no records");
	else
		out_line("audit verify: OK: instance %s, records %lld..%lld, "
		         "%lld signed heads good%s",
		    run.v.instance, run.v.first, run.v.last, run.v.nsigned,
		    have_pk ? "" : " (signatures not checked: no public key)");
	if (run.v.first > 1)
		out_line("audit verify: the log starts at record %lld (older "
		         "records removed by retention or not asked for)",
		    run.v.first);
	if (have_pk && run.v.n > 0 && run.v.last_signed < run.v.last)
		out_line("audit verify: records %lld..%lld are not signed yet "
		         "(the relay signs every sign_every records and when "
		         "it stops)",
		    run.v.last_signed + 1, run.v.last);
	audit_verify_free(&run.v);
	return EXIT_OK;
}

/* --- keygen --- */

static int
audit_keygen(const char *prefix)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	char *skpath = xasprintf("%s.key", prefix);
	char *pkpath = xasprintf("%s.pub", prefix);
	char err[512], *b64;
	int rc = EXIT_FAIL;

	if (sk == NULL)
		log_fatalx("out of memory");
	crypto_sign_keypair(pk, sk);
	if (keyfile_write(skpath, sk, crypto_sign_SECRETKEYBYTES, 1, err,
	        sizeof(err)) != 0)
		log_warnx("%s", err);
	else if (keyfile_write(pkpath, pk, sizeof(pk), 0, err, sizeof(err)) !=
	    0) {
		log_warnx("%s", err);
		remove(skpath);
	} else {
		b64 = b64_encode(pk, sizeof(pk));
		out_line("%s", b64);
		free(b64);
		rc = EXIT_OK;
	}
	sodium_free(sk);
	free(skpath);
	free(pkpath);
	return rc;
}

static int
audit_time_opt(const char *arg, time_t *out)
{
	if (time_rfc3339_parse(arg, out) != 0)
		return usage_error("audit",
		    "--since/--until: a UTC time like 2026-01-31T12:00:00Z");
	return 0;
}

int
cmd_audit(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    ADMIN_REQUEST_LONGOPTS,
	    {"instance", required_argument, NULL, 'i'},
	    {"file", required_argument, NULL, 'f'},
	    {"format", required_argument, NULL, 'F'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"public-key-file", required_argument, NULL, 'k'},
	    {"public-key", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct audit_opts o;
	const char *sub;
	int ch;

	(void)g;
	memset(&o, 0, sizeof(o));
	admin_request_defaults(&o.admin, &o.token_file);
	o.format = "json";
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (admin_request_opt(ch, &o.admin, &o.token_file))
			continue;
		switch (ch) {
		case 'i':
			o.instance = optarg;
			break;
		case 'f':
			o.file = optarg;
			break;
		case 'F':
			o.format = optarg;
			break;
		case 's':
			if (audit_time_opt(optarg, &o.since) != 0)
				return EXIT_USAGE;
			break;
		case 'u':
			if (audit_time_opt(optarg, &o.until) != 0)
				return EXIT_USAGE;
			break;
		case 'k':
			o.pk_file = optarg;
			break;
		case 'K':
			o.pk_b64 = optarg;
			break;
		case 'h':
			usage_print("audit", stdout);
			return EXIT_OK;
		default:
			return usage_error("audit", "bad option");
		}
	}
	if (argc - optind < 1)
		return usage_error("audit", "export, verify or keygen?");
	sub = argv[optind++];
	if (admin_request_check("audit", o.admin, &o.token_file) != 0)
		return EXIT_USAGE;
	if (strcmp(sub, "keygen") == 0) {
		if (argc - optind != 1)
			return usage_error("audit", "keygen PREFIX");
		return audit_keygen(argv[optind]);
	}
	if (argc - optind != 0)
		return usage_error("audit", "unexpected '%s'", argv[optind]);
	if (strcmp(sub, "export") == 0) {
		if (strcmp(o.format, "json") != 0 &&
		    strcmp(o.format, "csv") != 0)
			return usage_error("audit", "--format json or csv");
		return audit_export(&o);
	}
	if (strcmp(sub, "verify") == 0)
		return audit_verify(&o);
	return usage_error("audit", "unknown subcommand '%s'", sub);
}
