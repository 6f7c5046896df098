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

struct cp_http {
	const char *cmd; /* for usage errors */
	const char *url, *token_file, *pin, *cacert;
	long timeout_s;
	int get; /* GET, else a POST */
	const char *body; /* the POST's JSON body, or NULL: empty */
	struct cp_config cfg; /* what [contactpoint] gave */
};

/* Fills what the options left out from [contactpoint] of config (-c, or
 * the default alertctl.conf) and checks it: 0, or an exit code. */
int cp_http_resolve(struct cp_http *h, const char *config);
/* path ("/v1/...") on the ack listener; CURLE_OK when an answer came,
 * else err (CURL_ERROR_SIZE) says why.  -1: no token (logged). */
int cp_http_request(struct cp_http *h, const char *path, struct http_reply *r,
    char *err);
/* What a refusal means, for a person. */
const char *cp_http_meaning(long status);
void cp_http_free(struct cp_http *h);

#endif
