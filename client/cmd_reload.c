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

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "alertctl.h"
#include "http_post.h"
#include "keyfile.h"
#include "log.h"
#include "out.h"
#include "usage.h"
#include "util.h"
#include "wipealloc.h"
#include "xmalloc.h"

#define RELOAD_ADMIN_DEFAULT "127.0.0.1:9464"
#define RELOAD_CONNECT_TIMEOUT_S 5L
/* A reload checks certificates, keys and the directory before it
 * swaps them in: give it time, but not for ever. */
#define RELOAD_TIMEOUT_S 60L

/* The admin listener is on this host: never through a proxy from the
 * environment.  arg: the Authorization header, or NULL. */
static void
cmd_reload_setup(CURL *c, void *arg)
{
	struct curl_slist *headers = arg;

	if (headers != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
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

/* "Authorization: Bearer TOKEN" from token_file (refused unless only
 * its owner can read it); NULL with a logged reason. */
static char *
cmd_reload_auth(const char *token_file)
{
	char err[512], *text, *line;

	if (keyfile_read_text(token_file, 1, &text, err, sizeof(err)) != 0) {
		log_warnx("reload: %s", err);
		return NULL;
	}
	line = xasprintf("Authorization: Bearer %s", text);
	sodium_memzero(text, strlen(text));
	free(text);
	return line;
}

static int
cmd_reload_run(const char *admin, const char *token_file)
{
	char err[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct http_reply *r;
	char *url, *auth = NULL;
	int rc = EXIT_FAIL;

	if (token_file != NULL && (auth = cmd_reload_auth(token_file)) == NULL)
		return EXIT_FAIL;
	/* curl copies the Authorization header with the admin token:
	 * wiped as curl frees it. */
	if (wipealloc_curl_init(CURL_GLOBAL_DEFAULT) != 0)
		log_fatalx("curl_global_init failed");
	if (auth != NULL)
		headers = curl_slist_append(NULL, auth);
	r = xcalloc(1, sizeof(*r));
	url = xasprintf("http://%s/reload", admin);
	if (http_post_empty(url, cmd_reload_setup, headers, r, err) != CURLE_OK)
		log_warnx("cannot reach alertrelayd's admin listener at %s: %s "
		          "(is alertrelayd running, with [admin] listen = %s?)",
		    admin, err, admin);
	else if (r->status == 401 || r->status == 403)
		log_warnx("reload refused (HTTP %ld): %s", r->status,
		    token_file == NULL
		        ? "give the token of the relay's [admin] token_file "
		          "with --token-file"
		        : "the relay does not take that token (is it the one "
		          "in its [admin] token_file?)");
	else
		rc = cmd_reload_answer(admin, r);
	curl_slist_free_all(headers);
	if (auth != NULL) {
		sodium_memzero(auth, strlen(auth));
		free(auth);
	}
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
	    {"token-file", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *admin = RELOAD_ADMIN_DEFAULT;
	const char *token_file = getenv("ALERTCTL_ADMIN_TOKEN_FILE");
	char *host;
	int ch, port;

	(void)g;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			admin = optarg;
			break;
		case 't':
			token_file = optarg;
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
	if (token_file != NULL && token_file[0] == '\0')
		token_file = NULL;
	return cmd_reload_run(admin, token_file);
}
