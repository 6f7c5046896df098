/*
 * The one-shot HTTP requests alertctl makes itself (ack, reload): an
 * empty-bodied POST through libcurl whose answer is kept, bounded, with
 * its status and reason phrase.
 */
#ifndef ALERTCTL_HTTP_POST_H
#define ALERTCTL_HTTP_POST_H

#include <stddef.h>

#include <curl/curl.h>

#define HTTP_REPLY_MAX (64 * 1024)

struct http_reply {
	char body[HTTP_REPLY_MAX + 1];
	size_t len;
	char reason[128]; /* of the last status line: "Not Found" */
	long status;
};

/* POSTs nothing to url and keeps the answer in r.  setup(c, arg) adds
 * what the request needs besides (protocols, trust, authentication,
 * timeouts).  CURLE_OK when an HTTP answer came; otherwise err
 * (CURL_ERROR_SIZE bytes) says why. */
CURLcode http_post_empty(const char *url, void (*setup)(CURL *, void *),
    void *arg, struct http_reply *r, char *err);

#endif
