/*
 * alertctl deadletter list|replay: the notifications the relay gave up
 * (docs/RELIABILITY.md), on its loopback admin listener:
 *
 *	GET  http://HOST:PORT/deadletter?limit=N
 *	POST http://HOST:PORT/deadletter/replay  {"ids":[...]} | {"all":true}
 *
 * Both with the token of the relay's [admin] token_file as "Authorization:
 * Bearer TOKEN" (from --token-file or $ALERTCTL_ADMIN_TOKEN_FILE): the
 * list shows which alert went to whom, replaying sends alarms again.
 * One blocking libcurl request each: this is a CLI.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin_request.h"
#include "alertctl.h"
#include "log.h"
#include "out.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

#define DEADLETTER_TIMEOUT_S 30L
#define DEADLETTER_LIMIT_MAX 200 /* what fits the bounded answer */

struct deadletter_opts {
	const char *admin;
	const char *token_file;
	long limit;
	int all;
	int json;
};

/* One request; the answer's JSON object, or NULL with a logged reason. */
static json_t *
deadletter_request(const struct deadletter_opts *o, const char *path,
    const char *body)
{
	const struct admin_request q = {"deadletter", o->admin, o->token_file,
	    path, body, body != NULL, DEADLETTER_TIMEOUT_S};

	if (admin_request_token_given("deadletter", o->token_file) != 0)
		return NULL;
	return admin_request_json(&q);
}

static const char *
deadletter_field(const json_t *e, const char *key, char *buf, size_t len)
{
	const char *v = json_string_value(json_object_get(e, key));

	return out_clean(v != NULL ? v : "-", buf, len);
}

/* One line per dead letter, tab-separated: id, when, alert, recipient,
 * channel, event, reason. */
static int
deadletter_list(const struct deadletter_opts *o)
{
	static const char *const keys[] = {"id", "at", "alert_id",
	    "recipient_id", "channel", "event", "reason"};
	char path[64], f[sizeof(keys) / sizeof(keys[0])][512];
	json_t *a, *entries, *e;
	size_t i, k;
	int rc;

	snprintf(path, sizeof(path), "/deadletter?limit=%ld", o->limit);
	if ((a = deadletter_request(o, path, NULL)) == NULL)
		return EXIT_FAIL;
	if (o->json)
		rc = out_json(a) == 0 ? EXIT_OK : EXIT_FAIL;
	else {
		entries = json_object_get(a, "entries");
		out_line("dead letters: %lld (newest first, at most %ld shown)",
		    (long long)json_integer_value(json_object_get(a, "total")),
		    o->limit);
		json_array_foreach(entries, i, e)
		{
			for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
				deadletter_field(e, keys[k], f[k],
				    sizeof(f[k]));
			out_line("%s\t%s\t%s\t%s\t%s\t%s\t%s", f[0], f[1], f[2],
			    f[3], f[4], f[5], f[6]);
		}
		rc = fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK
		                                            : EXIT_FAIL;
	}
	json_decref(a);
	return rc;
}

static int
deadletter_replay(const struct deadletter_opts *o, int n, char **ids)
{
	json_t *req = json_object(), *a, *done, *unknown, *e;
	char f[4][512], *body;
	size_t i;
	int k, rc = EXIT_OK;

	if (o->all)
		json_object_set_new(req, "all", json_true());
	else {
		json_object_set_new(req, "ids", json_array());
		for (k = 0; k < n; k++)
			json_array_append_new(json_object_get(req, "ids"),
			    json_string(ids[k]));
	}
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	a = deadletter_request(o, "/deadletter/replay", body);
	free(body);
	if (a == NULL)
		return EXIT_FAIL;
	if (o->json) {
		rc = out_json(a) == 0 ? EXIT_OK : EXIT_FAIL;
		json_decref(a);
		return rc;
	}
	done = json_object_get(a, "replayed");
	unknown = json_object_get(a, "unknown");
	json_array_foreach(done, i, e)
	{
		deadletter_field(e, "id", f[0], sizeof(f[0]));
		deadletter_field(e, "alert_id", f[1], sizeof(f[1]));
		deadletter_field(e, "recipient_id", f[2], sizeof(f[2]));
		deadletter_field(e, "channel", f[3], sizeof(f[3]));
		out_line("replayed %s: alert %s to %s by %s", f[0], f[1], f[2],
		    f[3]);
	}
	json_array_foreach(unknown, i, e)
	{
		log_warnx("deadletter: no dead letter %s (replayed already?)",
		    out_clean(json_string_value(e) ? json_string_value(e) : "?",
		        f[0], sizeof(f[0])));
		rc = EXIT_FAIL;
	}
	if (json_array_size(done) == 0 && o->all)
		out_line("no dead letters");
	json_decref(a);
	return rc;
}

int
cmd_deadletter(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    ADMIN_REQUEST_LONGOPTS,
	    {"limit", required_argument, NULL, 'l'},
	    {"all", no_argument, NULL, 'A'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct deadletter_opts o = {NULL, NULL, 100, 0, 0};
	const char *sub;
	int ch;

	(void)g;
	admin_request_defaults(&o.admin, &o.token_file);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (admin_request_opt(ch, &o.admin, &o.token_file))
			continue;
		switch (ch) {
		case 'l':
			if (parse_long(optarg, 1, DEADLETTER_LIMIT_MAX,
			        &o.limit) != 0)
				return usage_error("deadletter",
				    "--limit must be 1..%d",
				    DEADLETTER_LIMIT_MAX);
			break;
		case 'A':
			o.all = 1;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'h':
			usage_print("deadletter", stdout);
			return EXIT_OK;
		default:
			return usage_error("deadletter", "bad option");
		}
	}
	if (argc - optind < 1)
		return usage_error("deadletter", "list or replay?");
	sub = argv[optind++];
	if (admin_request_check("deadletter", o.admin, &o.token_file) != 0)
		return EXIT_USAGE;
	if (strcmp(sub, "list") == 0) {
		if (argc - optind != 0 || o.all)
			return usage_error("deadletter", "list takes no ids");
		return deadletter_list(&o);
	}
	if (strcmp(sub, "replay") == 0) {
		if ((argc - optind == 0) == !o.all)
			return usage_error("deadletter",
			    "replay needs ids or --all (not both)");
		return deadletter_replay(&o, argc - optind, argv + optind);
	}
	return usage_error("deadletter", "unknown subcommand '%s'", sub);
}
