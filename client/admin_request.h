/*
 * A request to alertrelayd's loopback admin listener, as alertctl reload,
 * deadletter, audit and device forget make it, and the --admin and
 * --token-file options they share: the address checked, the token of the
 * relay's [admin] token_file sent as "Authorization: Bearer TOKEN" (read from a
 * file only its owner may read, wiped after use, and curl's copies wiped
 * as curl frees them), never through a proxy, one blocking request.
 */
#ifndef ALERTCTL_ADMIN_REQUEST_H
#define ALERTCTL_ADMIN_REQUEST_H

#include <jansson.h>

#include "http_post.h"

#define ADMIN_DEFAULT_ADDRESS "127.0.0.1:9464"

struct admin_request {
	const char *cmd; /* "reload": names the command in messages */
	const char *admin; /* host:port */
	const char *token_file; /* NULL: no token sent */
	const char *path; /* "/reload" */
	const char *body; /* JSON to POST; NULL with post: an empty POST */
	int post; /* 0: GET */
	long timeout_s;
};

/* The options every administrator command takes (getopt.h), as 'a' and
 * 't' in its own switch. */
/* clang-format off */
#define ADMIN_REQUEST_LONGOPTS                          \
	{"admin", required_argument, NULL, 'a'},        \
	{"token-file", required_argument, NULL, 't'}
/* clang-format on */

/* 0 if admin is host:port and nothing else (it goes into a URL as it is). */
int admin_address_valid(const char *admin);

/* Their defaults: the loopback address, $ALERTCTL_ADMIN_TOKEN_FILE. */
void admin_request_defaults(const char **admin, const char **token_file);
/* 1 when ch is --admin or --token-file (taken from optarg), else 0. */
int admin_request_opt(int ch, const char **admin, const char **token_file);
/* After the options: EXIT_USAGE (said, for usage_cmd) unless admin is
 * host:port; an empty token file is none.  0 when fine. */
int admin_request_check(const char *usage_cmd, const char *admin,
    const char **token_file);
/* 0 when token_file is given, else -1 with "cmd: give the token ..."
 * logged: for the requests the relay answers only with the token. */
int admin_request_token_given(const char *cmd, const char *token_file);

/* Makes the request and keeps the answer in r.  -1 when no answer came
 * (or the token file could not be read), with the reason logged; 0 when
 * an HTTP answer came, whatever its status.  401/403 are explained. */
int admin_request_run(const struct admin_request *q, struct http_reply *r);
/* Runs q: the answer when it is a JSON object with HTTP 200, else NULL
 * with "cmd: HTTP N from ADMIN: the relay's error" logged. */
json_t *admin_request_json(const struct admin_request *q);

#endif
