/*
 * alertctl reload: asks the running alertrelayd to reload its
 * configuration and directory, on its loopback admin listener:
 *
 *	POST http://HOST:PORT/reload
 *
 * answered 200 {"ok": true, "directory_version": N}, or 409 or 500
 * {"ok": false, "error": "..."} when the relay kept what it had.  One
 * blocking libcurl request: this is a CLI.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "alertctl.h"
#include "http_post.h"
#include "log.h"
#include "out.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

#define RELOAD_ADMIN_DEFAULT "127.0.0.1:9464"
#define RELOAD_CONNECT_TIMEOUT_S 5L
/* A reload checks certificates, keys and the directory before it
 * swaps them in: give it time, but not for ever. */
#define RELOAD_TIMEOUT_S 60L

/* The admin listener is on this host: never through a proxy from the
 * environment. */
static void
cmd_reload_setup(CURL *c, void *arg)
{
	(void)arg;
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, RELOAD_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, RELOAD_TIMEOUT_S);
}

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
cmd_reload_run(const char *admin)
{
	char err[CURL_ERROR_SIZE] = "";
	struct http_reply *r;
	char *url;
	int rc = EXIT_FAIL;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		log_fatalx("curl_global_init failed");
	r = xcalloc(1, sizeof(*r));
	url = xasprintf("http://%s/reload", admin);
	if (http_post_empty(url, cmd_reload_setup, NULL, r, err) != CURLE_OK)
		log_warnx("cannot reach alertrelayd's admin listener at %s: %s "
		          "(is alertrelayd running, with [admin] listen = %s?)",
		    admin, err, admin);
	else
		rc = cmd_reload_answer(admin, r);
	free(url);
	free(r);
	curl_global_cleanup();
	return rc;
}

int
cmd_reload(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
	    {"admin", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *admin = RELOAD_ADMIN_DEFAULT;
	char *host;
	int ch, port;

	(void)g;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			admin = optarg;
			break;
		case 'h':
			usage_print("reload", stdout);
			return EXIT_OK;
		default:
			return usage_error("reload", "bad option");
		}
	}
	if (argc - optind != 0)
		return usage_error("reload", "takes no arguments");
	/* The address goes into a URL as it is: nothing but host:port. */
	if (strlen(admin) > 255 ||
	    admin[strspn(admin,
	        "abcdefghijklmnopqrstuvwxyz"
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")] != '\0' ||
	    hostport_parse(admin, &host, &port) != 0)
		return usage_error("reload", "--admin '%s' is not host:port",
		    admin);
	free(host);
	return cmd_reload_run(admin);
}
