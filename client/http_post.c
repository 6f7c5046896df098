/*
 * One-shot empty POSTs with libcurl's easy interface: alertctl is a
 * command, not an event loop.
 */
#include <string.h>

#include "alertctl.h"
#include "http_post.h"
#include "log.h"
#include "out.h"

static size_t
http_post_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_reply *r = arg;

	/* size is 1 for libcurl's write callbacks */
	if (n > HTTP_REPLY_MAX - r->len)
		return 0; /* too long: the transfer fails */
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return size * n;
}

/* Keeps the reason phrase of each status line ("HTTP/1.1 404 Not
 * Found"); HTTP/2 has none. */
static size_t
http_post_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_reply *r = arg;
	char line[256], *p;
	size_t len = n < sizeof(line) - 1 ? n : sizeof(line) - 1;

	memcpy(line, data, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "HTTP/", 5) != 0)
		return size * n;
	r->reason[0] = '\0';
	if ((p = strchr(line, ' ')) != NULL && (p = strchr(p + 1, ' ')) != NULL)
		out_clean(p + 1, r->reason, sizeof(r->reason));
	return size * n;
}

CURLcode
http_post_empty(const char *url, void (*setup)(CURL *, void *), void *arg,
    struct http_reply *r, char *err)
{
	CURLcode rc;
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		log_fatalx("curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_post_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_post_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "alertctl/" ALERTCTL_VERSION);
	setup(c, arg);
	log_debug("POST %s", url);
	if ((rc = curl_easy_perform(c)) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else if (err[0] == '\0')
		snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	return rc;
}
