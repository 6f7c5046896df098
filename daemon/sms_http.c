/*
 * The http gateway driver, for any other provider: the URL, headers and
 * body are templates in which {to} {from} {text} {ref} {password}
 * expand, each escaped for where it lands (percent-encoded in URLs and
 * form bodies, JSON-escaped in JSON bodies, never a line break in a
 * header).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "sms_request.h"
#include "xmalloc.h"

enum sms_var { VAR_TO, VAR_FROM, VAR_TEXT, VAR_REF, VAR_PASSWORD, VAR_N };
static const char *const sms_var_names[VAR_N] = {"to", "from", "text", "ref",
    "password"};

/* The placeholder "{name}" at p: its index (and length), or -1. */
static int
sms_http_placeholder(const char *p, size_t *len)
{
	size_t i, n;

	if (p[0] != '{')
		return -1;
	for (i = 0; i < VAR_N; i++) {
		n = strlen(sms_var_names[i]);
		if (strncmp(p + 1, sms_var_names[i], n) == 0 &&
		    p[n + 1] == '}') {
			*len = n + 2;
			return (int)i;
		}
	}
	return -1;
}

/* A "{word}" that names no placeholder is a typo in the template. */
static int
sms_http_template_check(const char *what, const char *tmpl, int *used,
    char *err, size_t errlen)
{
	const char *p;
	size_t n, len;
	int i;

	for (p = strchr(tmpl, '{'); p != NULL; p = strchr(p + 1, '{')) {
		if ((i = sms_http_placeholder(p, &len)) >= 0) {
			used[i] = 1;
			continue;
		}
		n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (n > 0 && p[n + 1] == '}') {
			snprintf(err, errlen,
			    "%s: unknown placeholder {%.*s} (there are {to} "
			    "{from} {text} {ref} {password})",
			    what, (int)n, p + 1);
			return -1;
		}
	}
	return 0;
}

/* 0 with b filled, or -1 with a reason in err. */
static int
sms_http_expand(struct sms_buf *b, const char *what, const char *tmpl,
    const char *const vars[VAR_N], enum sms_escape how, char *err,
    size_t errlen)
{
	const char *p = tmpl;
	char *e;
	size_t len;
	int i, rc;

	while (*p != '\0') {
		if ((i = sms_http_placeholder(p, &len)) < 0) {
			len = strcspn(p + 1, "{") + 1;
			if (sms_request_buf_add(b, p, len) != 0)
				goto toolong;
			p += len;
			continue;
		}
		if (vars[i] == NULL) {
			snprintf(err, errlen, "%s: {%s} has no value", what,
			    sms_var_names[i]);
			return -1;
		}
		if ((e = sms_request_escape(vars[i], how)) == NULL) {
			snprintf(err, errlen, "%s: {%s} cannot be put there",
			    what, sms_var_names[i]);
			return -1;
		}
		rc = sms_request_buf_add(b, e, strlen(e));
		sodium_memzero(e, strlen(e));
		free(e);
		if (rc != 0)
			goto toolong;
		p += len;
	}
	if (b->p == NULL && sms_request_buf_add(b, "", 0) != 0)
		goto toolong;
	return 0;
toolong:
	snprintf(err, errlen, "%s: longer than %d bytes", what,
	    SMS_TEMPLATE_MAX);
	return -1;
}

static enum sms_escape
sms_http_body_escape(const char *content_type)
{
	size_t n = strcspn(content_type, ";");

	if (strncasecmp(content_type, SMS_FORM_TYPE, n) == 0 &&
	    n == strlen(SMS_FORM_TYPE))
		return ESC_URL;
	if ((n == strlen("application/json") &&
	        strncasecmp(content_type, "application/json", n) == 0) ||
	    (n > 5 && strncasecmp(content_type + n - 5, "+json", 5) == 0))
		return ESC_JSON;
	return ESC_RAW;
}

/* The method's rules, and username only with password_file. */
static int
sms_http_check_keys(struct sms_gateway *gw, char *err, size_t errlen)
{
	if (gw->method == NULL)
		gw->method = xstrdup("POST");
	if (gw->content_type == NULL)
		gw->content_type = xstrdup(SMS_FORM_TYPE);
	if (strcmp(gw->method, "POST") == 0 && gw->body == NULL) {
		snprintf(err, errlen, "body is missing (needed for POST)");
		return -1;
	}
	if (strcmp(gw->method, "GET") == 0 && gw->body != NULL) {
		snprintf(err, errlen, "body is not sent with method GET");
		return -1;
	}
	if (gw->username != NULL && gw->password_file == NULL) {
		snprintf(err, errlen,
		    "username needs password_file (HTTP Basic)");
		return -1;
	}
	return 0;
}

/* Templates that name only known placeholders, each of which will have
 * a value, and a URL that is valid once expanded. */
static int
sms_http_check(struct sms_gateway *gw, char *err, size_t errlen)
{
	const char *sample[VAR_N] = {"+31600000000", "ALERTRELAY",
	    "ALERT TEST from Test 10:32 ref K7Q2. Reply ACK K7Q2", "K7Q2",
	    "password"};
	int used[VAR_N] = {0};
	struct sms_buf b = {0};
	size_t i;
	int rc;

	if (sms_http_check_keys(gw, err, errlen) != 0)
		return -1;
	if (sms_http_template_check("url", gw->url, used, err, errlen) != 0 ||
	    (gw->body != NULL &&
	        sms_http_template_check("body", gw->body, used, err, errlen) !=
	            0))
		return -1;
	for (i = 0; i < gw->nheaders; i++)
		if (sms_http_template_check("header", gw->headers[i], used, err,
		        errlen) != 0)
			return -1;
	if (used[VAR_FROM] && gw->from == NULL) {
		snprintf(err, errlen, "{from} is used but from is not set");
		return -1;
	}
	if (used[VAR_PASSWORD] && gw->password_file == NULL) {
		snprintf(err, errlen,
		    "{password} is used but password_file is not set");
		return -1;
	}
	rc = sms_http_expand(&b, "url", gw->url, sample, ESC_URL, err, errlen);
	if (rc == 0)
		rc = sms_request_url_check(b.p, 1, err, errlen);
	sms_request_buf_free(&b);
	return rc;
}

static int
sms_http_request(const struct sms_gateway *gw, const char *to, const char *text,
    const char *ref, const char *report, struct sms_request *r, char *err,
    size_t errlen)
{
	const char *vars[VAR_N] = {to, gw->from, text, ref, gw->password};
	struct sms_buf h = {0};
	int has_type = 0;
	size_t i;

	(void)report; /* Kannel alone is asked for reports */

	if (sms_http_expand(&r->url, "url", gw->url, vars, ESC_URL, err,
	        errlen) != 0 ||
	    sms_request_url_check(r->url.p, 1, err, errlen) != 0)
		return -1;
	for (i = 0; i < gw->nheaders; i++) {
		if (sms_http_expand(&h, "header", gw->headers[i], vars,
		        ESC_HEADER, err, errlen) != 0) {
			sms_request_buf_free(&h);
			return -1;
		}
		if (strncasecmp(h.p, "Content-Type:", 13) == 0)
			has_type = 1;
		r->headers[r->nheaders++] = xstrdup(h.p);
		sms_request_buf_free(&h);
	}
	r->method = gw->method;
	if (strcmp(gw->method, "POST") == 0) {
		if (!has_type)
			r->headers[r->nheaders++] =
			    xasprintf("Content-Type: %s", gw->content_type);
		if (sms_http_expand(&r->body, "body", gw->body, vars,
		        sms_http_body_escape(gw->content_type), err,
		        errlen) != 0)
			return -1;
	}
	if (gw->username != NULL)
		sms_request_userpwd(r, gw->username, gw->password);
	return 0;
}

const struct sms_driver sms_http_driver = {"http", SMS_HTTP, sms_http_check,
    sms_http_request, NULL};
