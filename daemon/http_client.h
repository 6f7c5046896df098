/*
 * Outgoing HTTP(S) requests with libcurl's multi interface, driven by the
 * libevent loop through curl's socket and timer callbacks: no thread per
 * request, no blocking call.  Connections to a host are reused.  At most
 * 16 requests run at once to one origin; the others wait for their turn
 * in order, and their timeouts start when they do.
 *
 * The URL, credentials, headers and body may hold a secret (an SMS
 * gateway's password or token).  http_post() copies the body and the
 * header lines and wipes those copies when the request is freed; curl's
 * own copies (of the URL and credentials, the request it builds) are
 * wiped when curl frees them (wipealloc_curl_init()): at the latest when
 * the request is freed, except that a connection curl keeps open for the
 * next request may hold the user name and password until it closes.
 * Beyond curl nothing is wiped: OpenSSL's buffers (https) and the
 * kernel's socket buffers.  The caller wipes its own arguments.
 */
#ifndef ALERTRELAY_HTTP_CLIENT_H
#define ALERTRELAY_HTTP_CLIENT_H

#include <stddef.h>

#include <event2/event.h>

struct http_client;
struct http_req;

/* status is the HTTP status, or 0 when no response came (error says why). */
typedef void (*http_done_cb)(long status, const char *error, void *arg);

struct http_post_args {
	const char *method; /* NULL: POST; "GET" sends no body */
	const char *url;
	const char *userpwd; /* "user:password" for HTTP Basic, or NULL */
	const char *const *headers; /* "Name: value" */
	size_t nheaders;
	const char *body;
	size_t bodylen;
	long connect_timeout_ms;
	long timeout_ms;
	/* Trust for https (alertconsole's acknowledgements to the relay):
	 * a CA file, or the base64 SHA-256 pin of the server's key (then no
	 * CA and no name check, as for devices).  NULL: the system's CAs. */
	const char *cainfo;
	const char *pin;
	/* Where to keep the start of the answer's body (NUL-terminated,
	 * cut at answerlen - 1 bytes), for a caller that reads the reason
	 * of a refusal; it must live until cb.  NULL: the body is dropped.
	 * Either way no more than 16 KiB of a body is read: past that the
	 * transfer is cut and cb gets the status all the same, so a caller
	 * that parses the answer must take a cut one (which fails to parse,
	 * as a JSON or XML body would) as unreadable, not as a failure. */
	char *answer;
	size_t answerlen;
};

struct http_client *http_client_new(struct event_base *base);
void http_client_free(struct http_client *hc);

/* cb is called once from the loop, unless the request is cancelled.
 * Despite the name, args->method may make it any method. */
struct http_req *http_post(struct http_client *hc,
    const struct http_post_args *args, http_done_cb cb, void *arg);
void http_req_cancel(struct http_req *req);

#endif
