/*
 * The contact point's requests to the relay's HTTPS ack listener
 * (alertctl ack, alertctl inbox): where it is and how it is trusted
 * (--url/--pin/--cacert/--token-file, else [contactpoint] in
 * alertctl.conf), the recipient's token, and one blocking libcurl
 * request over TLS 1.3 with the token as a bearer.
 */
#ifndef ALERTCTL_CP_HTTP_H
#define ALERTCTL_CP_HTTP_H

#include "cp_config.h"
#include "http_post.h"

#define CP_HTTP_TIMEOUT_DEFAULT 30
#define CP_HTTP_TIMEOUT_MAX 3600

/* The options every contact point command takes, as getopt_long values;
 * a command's own options start at CP_HTTP_OPT_OWN. */
enum {
	CP_HTTP_OPT_URL = 256,
	CP_HTTP_OPT_TOKEN_FILE,
	CP_HTTP_OPT_PIN,
	CP_HTTP_OPT_CACERT,
	CP_HTTP_OPT_TIMEOUT,
	CP_HTTP_OPT_OWN,
};

/* Their entries in a command's struct option table (getopt.h). */
/* clang-format off */
#define CP_HTTP_LONGOPTS                                                 \
	{"url", required_argument, NULL, CP_HTTP_OPT_URL},               \
	{"token-file", required_argument, NULL, CP_HTTP_OPT_TOKEN_FILE}, \
	{"pin", required_argument, NULL, CP_HTTP_OPT_PIN},               \
	{"cacert", required_argument, NULL, CP_HTTP_OPT_CACERT},         \
	{"timeout", required_argument, NULL, CP_HTTP_OPT_TIMEOUT},       \
	{"config", required_argument, NULL, 'c'},                        \
	{"verbose", no_argument, NULL, 'v'},                             \
	{"help", no_argument, NULL, 'h'}
/* clang-format on */

struct cp_http {
	const char *cmd; /* for usage errors */
	const char *url, *token_file, *pin, *cacert;
	const char *config; /* -c after the command, or NULL */
	long timeout_s;
	int get; /* GET, else a POST */
	const char *body; /* the POST's JSON body, or NULL: empty */
	struct cp_config cfg; /* what [contactpoint] gave */
};

/* Zeroes h for the command cmd, with the default timeout. */
void cp_http_init(struct cp_http *h, const char *cmd);
/* One getopt_long result ch: 1 if it is one of CP_HTTP_LONGOPTS, with *rc
 * 0, -1 (--help printed) or a usage exit code; 0 if it is the command's
 * own. */
int cp_http_opt(struct cp_http *h, int ch, int *rc);
/* Fills what the options left out from [contactpoint] of h->config (-c
 * after the command), else of config (-c before it, or the default
 * alertctl.conf) and checks it: 0, or an exit code. */
int cp_http_resolve(struct cp_http *h, const char *config);
/* path ("/v1/...") on the ack listener; CURLE_OK when an answer came,
 * else err (CURL_ERROR_SIZE) says why.  -1: no token (logged). */
int cp_http_request(struct cp_http *h, const char *path, struct http_reply *r,
    char *err);
/* What a refusal (r, with its body) means, for a person. */
const char *cp_http_meaning(const struct http_reply *r);
void cp_http_free(struct cp_http *h);

#endif
