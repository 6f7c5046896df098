/*
 * Requests to alertrelayd's admin listener (admin_request.h).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "admin_request.h"
#include "alertctl.h"
#include "keyfile.h"
#include "log.h"
#include "out.h"
#include "usage.h"
#include "util.h"
#include "wipealloc.h"
#include "xmalloc.h"

#define ADMIN_CONNECT_TIMEOUT_S 5L

int
admin_address_valid(const char *admin)
{
	char *host;
	int port;

	if (strlen(admin) > 255 ||
	    admin[strspn(admin,
	        "abcdefghijklmnopqrstuvwxyz"
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")] != '\0' ||
	    hostport_parse(admin, &host, &port) != 0)
		return -1;
	free(host);
	return 0;
}

void
admin_request_defaults(const char **admin, const char **token_file)
{
	*admin = ADMIN_DEFAULT_ADDRESS;
	*token_file = getenv("ALERTCTL_ADMIN_TOKEN_FILE");
}

int
admin_request_opt(int ch, const char **admin, const char **token_file)
{
	if (ch == 'a')
		*admin = optarg;
	else if (ch == 't')
		*token_file = optarg;
	else
		return 0;
	return 1;
}

int
admin_request_check(const char *usage_cmd, const char *admin,
    const char **token_file)
{
	if (admin_address_valid(admin) != 0)
		return usage_error(usage_cmd, "--admin '%s' is not host:port",
		    admin);
	if (*token_file != NULL && (*token_file)[0] == '\0')
		*token_file = NULL;
	return 0;
}

int
admin_request_token_given(const char *cmd, const char *token_file)
{
	if (token_file != NULL)
		return 0;
	log_warnx("%s: give the token of the relay's [admin] token_file with "
	          "--token-file",
	    cmd);
	return -1;
}

/* "Authorization: Bearer TOKEN" from token_file (refused unless only its
 * owner can read it); NULL with a logged reason. */
static char *
admin_request_auth(const char *cmd, const char *token_file)
{
	char err[512], *text, *line;

	if (keyfile_read_text(token_file, 1, &text, err, sizeof(err)) != 0) {
		log_warnx("%s: %s", cmd, err);
		return NULL;
	}
	line = xasprintf("Authorization: Bearer %s", text);
	sodium_memzero(text, strlen(text));
	free(text);
	return line;
}

struct admin_setup {
	const struct admin_request *q;
	struct curl_slist *headers;
};

/* The admin listener is on this host: never through a proxy from the
 * environment. */
static void
admin_request_setup(CURL *c, void *arg)
{
	const struct admin_setup *s = arg;

	if (s->headers != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, ADMIN_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, s->q->timeout_s);
	if (!s->q->post)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else if (s->q->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(s->q->body));
	}
}

int
admin_request_run(const struct admin_request *q, struct http_reply *r)
{
	char err[CURL_ERROR_SIZE] = "", *url, *auth = NULL;
	struct admin_setup s = {q, NULL};
	int rc = -1;

	if (q->token_file != NULL &&
	    (auth = admin_request_auth(q->cmd, q->token_file)) == NULL)
		return -1;
	/* curl copies the Authorization header: wiped as curl frees it. */
	if (wipealloc_curl_init(CURL_GLOBAL_DEFAULT) != 0)
		log_fatalx("curl_global_init failed");
	if (auth != NULL)
		s.headers = curl_slist_append(NULL, auth);
	if (q->body != NULL)
		s.headers = curl_slist_append(s.headers,
		    "Content-Type: application/json");
	url = xasprintf("http://%s%s", q->admin, q->path);
	if (http_post_empty(url, admin_request_setup, &s, r, err) != CURLE_OK)
		log_warnx("cannot reach alertrelayd's admin listener at %s: %s "
		          "(is alertrelayd running, with [admin] listen = %s?)",
		    q->admin, err, q->admin);
	else if (r->status == 401 || r->status == 403)
		log_warnx("%s: refused (HTTP %ld): %s", q->cmd, r->status,
		    q->token_file == NULL
		        ? "give the token of the relay's [admin] token_file "
		          "with --token-file"
		        : "the relay does not take that token (is it the one "
		          "in its [admin] token_file?)");
	else
		rc = 0;
	curl_slist_free_all(s.headers);
	if (auth != NULL) {
		sodium_memzero(auth, strlen(auth));
		free(auth);
	}
	free(url);
	curl_global_cleanup();
	return rc;
}

json_t *
admin_request_json(const struct admin_request *q)
{
	struct http_reply *r = xcalloc(1, sizeof(*r));
	json_t *answer = NULL;
	const char *error;
	char why[256];

	if (admin_request_run(q, r) == 0) {
		answer =
		    json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
		error = json_string_value(json_object_get(answer, "error"));
		if (r->status != 200 || !json_is_object(answer)) {
			log_warnx("%s: HTTP %ld from %s: %s", q->cmd, r->status,
			    q->admin,
			    error != NULL ? out_clean(error, why, sizeof(why))
			                  : "not an answer of alertrelayd");
			json_decref(answer);
			answer = NULL;
		}
	}
	free(r);
	return answer;
}
