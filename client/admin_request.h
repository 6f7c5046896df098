/*
 * A request to alertrelayd's loopback admin listener, as alertctl reload
 * and deadletter make it: the address checked, the token of the relay's
 * [admin] token_file sent as "Authorization: Bearer TOKEN" (read from a
 * file only its owner may read, wiped after use, and curl's copies wiped
 * as curl frees them), never through a proxy, one blocking request.
 */
#ifndef ALERTCTL_ADMIN_REQUEST_H
#define ALERTCTL_ADMIN_REQUEST_H

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

/* 0 if admin is host:port and nothing else (it goes into a URL as it is). */
int admin_address_valid(const char *admin);

/* Makes the request and keeps the answer in r.  -1 when no answer came
 * (or the token file could not be read), with the reason logged; 0 when
 * an HTTP answer came, whatever its status.  401/403 are explained. */
int admin_request_run(const struct admin_request *q, struct http_reply *r);

#endif
