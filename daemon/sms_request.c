/*
 * The pieces every SMS gateway driver builds its HTTP request from:
 * buffers that never leave an unwiped copy of what they held, escaping
 * for URLs, JSON and headers, the rules a gateway URL must meet, form
 * fields, and HTTP Basic credentials in sodium_malloc'd memory.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "log.h"
#include "sms_request.h"
#include "wipealloc.h"
#include "xmalloc.h"

void
sms_request_buf_free(struct sms_buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* Grows by copying, so that no old copy is left unwiped. */
int
sms_request_buf_add(struct sms_buf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (b->len + n + 1 > SMS_TEMPLATE_MAX)
		return -1;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = xmalloc(ncap);
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		if (b->p != NULL) {
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* The inside of a JSON string, or NULL when s is not UTF-8.  s may be
 * a secret ({password}): jansson's own copies (the string, the dump's
 * buffer as it grows) are wiped as jansson frees them, and its plain
 * free restored after; the daemon runs jansson on one thread only. */
static char *
sms_request_escape_json(const char *s)
{
	json_malloc_t m;
	json_free_t f;
	json_t *j;
	char *e, *out = NULL;
	size_t n;

	json_get_alloc_funcs(&m, &f);
	json_set_alloc_funcs(malloc, wipealloc_free);
	if ((j = json_string(s)) != NULL) {
		e = json_dumps(j, JSON_ENCODE_ANY);
		json_decref(j);
		if (e == NULL)
			log_fatalx("json_dumps failed");
		n = strlen(e); /* "..." */
		out = xstrndup(e + 1, n - 2);
		wipealloc_free(e);
	}
	json_set_alloc_funcs(m, f);
	return out;
}

char *
sms_request_escape(const char *s, enum sms_escape how)
{
	char *e, *out;

	switch (how) {
	case ESC_URL:
		if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
			log_fatalx("curl_easy_escape failed");
		out = xstrdup(e);
		sodium_memzero(e, strlen(e));
		curl_free(e);
		return out;
	case ESC_JSON:
		return sms_request_escape_json(s);
	case ESC_HEADER:
		if (strpbrk(s, "\r\n") != NULL)
			return NULL;
		return xstrdup(s);
	case ESC_RAW:
		break;
	}
	return xstrdup(s);
}

static int
sms_request_host_loopback(const char *host)
{
	size_t n;

	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0)
		return 1;
	n = strlen(host);
	return strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") == n;
}

int
sms_request_url_check(const char *url, int allow_query, char *err,
    size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL;
	int rc = -1;

	if (u == NULL)
		log_fatalx("curl_url failed");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		snprintf(err, errlen, "url is not a valid URL");
	else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
		snprintf(err, errlen,
		    "url must be https:// (or http:// to "
		    "a loopback address)");
	else if (strcmp(scheme, "http") == 0 &&
	    !sms_request_host_loopback(host))
		snprintf(err, errlen,
		    "url: plain http only to a loopback address "
		    "(127.0.0.1, ::1, localhost); use https");
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		snprintf(err, errlen,
		    "url must not carry a user or password; use username "
		    "and password_file");
	else if (!allow_query &&
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK)
		snprintf(err, errlen, "url must not have a query");
	else
		rc = 0;
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

int
sms_request_form_add(struct sms_buf *b, const char *name, const char *value)
{
	char *e = sms_request_escape(value, ESC_URL);
	int rc;

	rc = (b->len > 0 ? sms_request_buf_add(b, "&", 1) : 0) |
	    sms_request_buf_add(b, name, strlen(name)) |
	    sms_request_buf_add(b, "=", 1) |
	    sms_request_buf_add(b, e, strlen(e));
	sodium_memzero(e, strlen(e));
	free(e);
	return rc;
}

/* Wipes curl's copy of the URL once it is in b. */
int
sms_request_url_take(CURLU *u, struct sms_buf *b)
{
	char *url = NULL;
	int rc;

	if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		return -1;
	rc = sms_request_buf_add(b, url, strlen(url));
	sodium_memzero(url, strlen(url));
	curl_free(url);
	return rc;
}

void
sms_request_userpwd(struct sms_request *r, const char *user,
    const char *password)
{
	size_t ulen = strlen(user), plen = strlen(password);

	if ((r->userpwd = sodium_malloc(ulen + plen + 2)) == NULL)
		log_fatal("sodium_malloc");
	memcpy(r->userpwd, user, ulen);
	r->userpwd[ulen] = ':';
	memcpy(r->userpwd + ulen + 1, password, plen + 1);
}

void
sms_request_free(struct sms_request *r)
{
	size_t i;

	sms_request_buf_free(&r->url);
	sms_request_buf_free(&r->body);
	if (r->userpwd != NULL)
		sodium_free(r->userpwd); /* wipes */
	r->userpwd = NULL;
	for (i = 0; i < r->nheaders; i++) {
		sodium_memzero(r->headers[i], strlen(r->headers[i]));
		free(r->headers[i]);
	}
	r->nheaders = 0;
}
