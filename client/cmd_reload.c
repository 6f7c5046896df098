/*
 * alertctl reload: asks the running alertrelayd to reload its
 * configuration and directory, on its loopback admin listener:
 *
 *	POST http://HOST:PORT/reload
 *
 * answered 200 {"ok": true, "directory_version": N}, or 409 or 500
 * {"ok": false, "error": "..."} when the relay kept what it had.  The
 * relay takes it only with the token of its [admin] token_file, sent as
 * "Authorization: Bearer TOKEN" from --token-file (or
 * $ALERTCTL_ADMIN_TOKEN_FILE), a file only its owner may read.  One
 * blocking libcurl request: this is a CLI.
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

/* A reload checks certificates, keys and the directory before it
 * swaps them in: give it time, but not for ever. */
#define RELOAD_TIMEOUT_S 60L

static int
cmd_reload_answer(const char *admin, const struct http_reply *r)
{
	json_t *body =
	    json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *version = json_object_get(body, "directory_version");
	const char *error = json_string_value(json_object_get(body, "error"));
	char why[256];
	int rc = EXIT_FAIL;

	if (r->status == 200 && json_is_true(json_object_get(body, "ok"))) {
		if (json_is_integer(version))
			out_line("reloaded: directory version %lld",
			    (long long)json_integer_value(version));
		else
			out_line("reloaded");
		rc = EXIT_OK;
	} else if (error != NULL)
		log_warnx("reload refused (HTTP %ld): %s; the relay runs on "
		          "with what it had",
		    r->status, out_clean(error, why, sizeof(why)));
	else
		log_warnx("reload: HTTP %ld from %s, not an answer of "
		          "alertrelayd's admin listener",
		    r->status, admin);
	json_decref(body);
	return rc;
}

static int
cmd_reload_run(const char *admin, const char *token_file)
{
	const struct admin_request q = {"reload", admin, token_file, "/reload",
	    NULL, 1, RELOAD_TIMEOUT_S};
	struct http_reply *r = xcalloc(1, sizeof(*r));
	int rc = EXIT_FAIL;

	if (admin_request_run(&q, r) == 0)
		rc = cmd_reload_answer(admin, r);
	free(r);
	return rc;
}

int
cmd_reload(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    ADMIN_REQUEST_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *admin, *token_file;
	int ch;

	(void)g;
	admin_request_defaults(&admin, &token_file);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (admin_request_opt(ch, &admin, &token_file))
			continue;
		switch (ch) {
		case 'h':
			usage_print("reload", stdout);
			return EXIT_OK;
		default:
			return usage_error("reload", "bad option");
		}
	}
	if (argc - optind != 0)
		return usage_error("reload", "takes no arguments");
	if (admin_request_check("reload", admin, &token_file) != 0)
		return EXIT_USAGE;
	return cmd_reload_run(admin, token_file);
}
