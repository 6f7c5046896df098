/*
 * SMS gateways: the [gateway NAME] configuration, the metadata-only
 * texts in GSM-7, and sending through Kannel's sendsms, a Twilio-style
 * REST API or a generic HTTP template, on the daemon's http_client.
 *
 * Secrets (the gateway password or token, the MO token) live in
 * sodium_malloc'd memory; every buffer that held one is wiped before it
 * is freed.  Nothing here logs a secret, a URL, a number or a text.
 */
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "http_client.h"
#include "keyfile.h"
#include "log.h"
#include "sms_gateway.h"
#include "xmalloc.h"

#define SMS_TYPE_MAX 16 /* characters of the alert type shown */
#define SMS_MO_TOKEN_MIN 16 /* characters of a gateway's MO token */
#define SMS_HEADERS_MAX 32 /* header lines of an http gateway */
#define SMS_TEMPLATE_MAX 8192 /* an expanded url, header or body */
#define SMS_FORM_TYPE "application/x-www-form-urlencoded"

/* ---------------------------------------------------------- configuration */

static const struct sms_key {
	const char *name;
	size_t offset;
	int path; /* resolved against the configuration's directory */
} sms_keys[] = {
    {"url", offsetof(struct sms_gateway, url), 0},
    {"username", offsetof(struct sms_gateway, username), 0},
    {"password_file", offsetof(struct sms_gateway, password_file), 1},
    {"from", offsetof(struct sms_gateway, from), 0},
    {"mo_token_file", offsetof(struct sms_gateway, mo_token_file), 1},
    {"method", offsetof(struct sms_gateway, method), 0},
    {"body", offsetof(struct sms_gateway, body), 0},
    {"content_type", offsetof(struct sms_gateway, content_type), 0},
};

static int
sms_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* "cred:NAME" or a path, as elsewhere in the configuration (keyfile.h). */
static char *
sms_path(const char *dir, const char *value, char *err, size_t errlen)
{
	return keyfile_path(dir, value, err, errlen);
}

/* "Name: value" with a token for the name. */
static int
sms_header_valid(const char *h)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
	                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "abcdefghijklmnopqrstuvwxyz";
	size_t n = strspn(h, tchar);

	return n > 0 && h[n] == ':';
}

int
sms_gateway_set(struct sms_gateway *gw, const char *dir, const char *key,
    const char *value, char *err, size_t errlen)
{
	size_t i;
	char **slot, *v;

	if (sms_has_control(value)) {
		snprintf(err, errlen, "%s: control characters in the value",
		    key);
		return -1;
	}
	if (strcmp(key, "type") == 0) {
		if (strcmp(value, "kannel") == 0)
			gw->type = SMS_KANNEL;
		else if (strcmp(value, "twilio") == 0)
			gw->type = SMS_TWILIO;
		else if (strcmp(value, "http") == 0)
			gw->type = SMS_HTTP;
		else {
			snprintf(err, errlen,
			    "type must be kannel, twilio or http");
			return -1;
		}
		gw->has_type = 1;
		return 0;
	}
	/* Query strings end up in access logs: taking the MO token from
	 * one is the operator's explicit choice (ack_parse.h). */
	if (strcmp(key, "mo_token_in_query") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			snprintf(err, errlen,
			    "mo_token_in_query must be yes "
			    "or no");
			return -1;
		}
		gw->mo_token_in_query = strcmp(value, "yes") == 0;
		return 0;
	}
	if (strcmp(key, "header") == 0) {
		if (!sms_header_valid(value)) {
			snprintf(err, errlen, "header must be \"Name: value\"");
			return -1;
		}
		if (gw->nheaders >= SMS_HEADERS_MAX) {
			snprintf(err, errlen, "more than %d headers",
			    SMS_HEADERS_MAX);
			return -1;
		}
		gw->headers = xreallocarray(gw->headers, gw->nheaders + 1,
		    sizeof(*gw->headers));
		gw->headers[gw->nheaders++] = xstrdup(value);
		return 0;
	}
	for (i = 0; i < sizeof(sms_keys) / sizeof(sms_keys[0]); i++) {
		if (strcmp(key, sms_keys[i].name) != 0)
			continue;
		if (value[0] == '\0') {
			snprintf(err, errlen, "%s is empty", key);
			return -1;
		}
		if (strcmp(key, "method") == 0) {
			if (strcasecmp(value, "GET") != 0 &&
			    strcasecmp(value, "POST") != 0) {
				snprintf(err, errlen,
				    "method must be GET or POST");
				return -1;
			}
			v = xstrdup(
			    strcasecmp(value, "GET") == 0 ? "GET" : "POST");
		} else if (sms_keys[i].path) {
			if ((v = sms_path(dir, value, err, errlen)) == NULL)
				return -1;
		} else
			v = xstrdup(value);
		slot = (char **)((char *)gw + sms_keys[i].offset);
		free(*slot);
		*slot = v;
		return 0;
	}
	snprintf(err, errlen, "unknown key %s", key);
	return -1;
}

static void
sms_secret_free(char **secret)
{
	if (*secret != NULL)
		sodium_free(*secret); /* wipes */
	*secret = NULL;
}

static int
sms_read_secret(const char *path, size_t minlen, char **out, char *err,
    size_t errlen)
{
	char *text;
	size_t len;

	if (sodium_init() < 0)
		log_fatalx("sodium_init failed");
	if (keyfile_read_text(path, 1, &text, err, errlen) != 0)
		return -1;
	len = strlen(text);
	if (len < minlen) {
		snprintf(err, errlen, "%s: too short (at least %zu characters)",
		    path, minlen);
		sodium_memzero(text, len);
		free(text);
		return -1;
	}
	sms_secret_free(out);
	if ((*out = sodium_malloc(len + 1)) == NULL)
		log_fatal("sodium_malloc");
	memcpy(*out, text, len + 1);
	sodium_memzero(text, len);
	free(text);
	return 0;
}

static int
sms_host_loopback(const char *host)
{
	size_t n;

	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0)
		return 1;
	n = strlen(host);
	return strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") == n;
}

/* The URL is never echoed: a template may hold a secret. */
static int
sms_url_check(const char *url, int allow_query, char *err, size_t errlen)
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
	else if (strcmp(scheme, "http") == 0 && !sms_host_loopback(host))
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

/* E.164, a short code, or an alphanumeric sender id (up to 11, with at
 * least one letter). */
static int
sms_sender_valid(const char *s)
{
	static const char alnum[] = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "abcdefghijklmnopqrstuvwxyz";
	size_t n = strlen(s);

	if (sms_number_valid(s))
		return 1;
	if (n >= 3 && n <= 15 && strspn(s, "0123456789") == n)
		return 1;
	return n >= 1 && n <= 11 && s[0] != ' ' && s[n - 1] != ' ' &&
	    strspn(s, alnum) == n && strspn(s, " 0123456789") != n;
}

/* ------------------------------------------------------------- templates */

enum sms_var { VAR_TO, VAR_FROM, VAR_TEXT, VAR_REF, VAR_PASSWORD, VAR_N };
static const char *const sms_var_names[VAR_N] = {"to", "from", "text", "ref",
    "password"};

enum sms_escape {
	ESC_URL, /* percent-encoded (URLs, form bodies) */
	ESC_JSON, /* the inside of a JSON string */
	ESC_HEADER, /* as is, but never a line break */
	ESC_RAW, /* as is */
};

struct sms_buf {
	char *p;
	size_t len, cap;
};

static void
sms_buf_free(struct sms_buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* Grows by copying, so that no old copy is left unwiped. */
static int
sms_buf_add(struct sms_buf *b, const char *s, size_t n)
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

/* The placeholder "{name}" at p: its index (and length), or -1. */
static int
sms_placeholder(const char *p, size_t *len)
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
sms_template_check(const char *what, const char *tmpl, int *used, char *err,
    size_t errlen)
{
	const char *p;
	size_t n, len;
	int i;

	for (p = strchr(tmpl, '{'); p != NULL; p = strchr(p + 1, '{')) {
		if ((i = sms_placeholder(p, &len)) >= 0) {
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

static char *
sms_escape(const char *s, enum sms_escape how)
{
	char *e, *out;
	json_t *j;
	size_t n;

	switch (how) {
	case ESC_URL:
		if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
			log_fatalx("curl_easy_escape failed");
		out = xstrdup(e);
		sodium_memzero(e, strlen(e));
		curl_free(e);
		return out;
	case ESC_JSON:
		if ((j = json_string(s)) == NULL)
			return NULL; /* not UTF-8 */
		e = json_dumps(j, JSON_ENCODE_ANY);
		json_decref(j);
		if (e == NULL)
			log_fatalx("json_dumps failed");
		n = strlen(e); /* "..." */
		out = xstrndup(e + 1, n - 2);
		sodium_memzero(e, n);
		free(e);
		return out;
	case ESC_HEADER:
		if (strpbrk(s, "\r\n") != NULL)
			return NULL;
		return xstrdup(s);
	case ESC_RAW:
		break;
	}
	return xstrdup(s);
}

/* 0 with b filled, or -1 with a reason in err. */
static int
sms_expand(struct sms_buf *b, const char *what, const char *tmpl,
    const char *const vars[VAR_N], enum sms_escape how, char *err,
    size_t errlen)
{
	const char *p = tmpl;
	char *e;
	size_t len;
	int i, rc;

	while (*p != '\0') {
		if ((i = sms_placeholder(p, &len)) < 0) {
			len = strcspn(p + 1, "{") + 1;
			if (sms_buf_add(b, p, len) != 0)
				goto toolong;
			p += len;
			continue;
		}
		if (vars[i] == NULL) {
			snprintf(err, errlen, "%s: {%s} has no value", what,
			    sms_var_names[i]);
			return -1;
		}
		if ((e = sms_escape(vars[i], how)) == NULL) {
			snprintf(err, errlen, "%s: {%s} cannot be put there",
			    what, sms_var_names[i]);
			return -1;
		}
		rc = sms_buf_add(b, e, strlen(e));
		sodium_memzero(e, strlen(e));
		free(e);
		if (rc != 0)
			goto toolong;
		p += len;
	}
	if (b->p == NULL && sms_buf_add(b, "", 0) != 0)
		goto toolong;
	return 0;
toolong:
	snprintf(err, errlen, "%s: longer than %d bytes", what,
	    SMS_TEMPLATE_MAX);
	return -1;
}

static enum sms_escape
sms_body_escape(const char *content_type)
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

/* The http type: templates that name only known placeholders, each of
 * which will have a value, and a URL that is valid once expanded. */
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
	if (sms_template_check("url", gw->url, used, err, errlen) != 0 ||
	    (gw->body != NULL &&
	        sms_template_check("body", gw->body, used, err, errlen) != 0))
		return -1;
	for (i = 0; i < gw->nheaders; i++)
		if (sms_template_check("header", gw->headers[i], used, err,
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
	rc = sms_expand(&b, "url", gw->url, sample, ESC_URL, err, errlen);
	if (rc == 0)
		rc = sms_url_check(b.p, 1, err, errlen);
	sms_buf_free(&b);
	return rc;
}

int
sms_gateway_check(struct sms_gateway *gw, char *err, size_t errlen)
{
	int http = gw->has_type && gw->type == SMS_HTTP;

	if (!gw->has_type) {
		snprintf(err, errlen,
		    "type is missing (kannel, twilio or http)");
		return -1;
	}
	if (gw->url == NULL) {
		snprintf(err, errlen, "url is missing");
		return -1;
	}
	if (!http &&
	    (gw->username == NULL || gw->password_file == NULL ||
	        gw->from == NULL)) {
		snprintf(err, errlen, "%s is missing",
		    gw->username == NULL            ? "username"
		        : gw->password_file == NULL ? "password_file"
		                                    : "from");
		return -1;
	}
	if (!http &&
	    (gw->method != NULL || gw->nheaders > 0 || gw->body != NULL ||
	        gw->content_type != NULL)) {
		snprintf(err, errlen,
		    "method, header, body and content_type are for type http");
		return -1;
	}
	if (gw->from != NULL && !sms_sender_valid(gw->from)) {
		snprintf(err, errlen,
		    "from must be an E.164 number, a short code or an "
		    "alphanumeric sender of at most 11 characters");
		return -1;
	}
	if (gw->username != NULL && gw->type != SMS_KANNEL &&
	    strchr(gw->username, ':') != NULL) {
		snprintf(err, errlen, "username must not contain ':'");
		return -1;
	}
	if (http) {
		if (sms_http_check(gw, err, errlen) != 0)
			return -1;
	} else if (sms_url_check(gw->url, gw->type == SMS_KANNEL, err,
	               errlen) != 0)
		return -1;
	if (gw->password_file != NULL &&
	    sms_read_secret(gw->password_file, 1, &gw->password, err, errlen) !=
	        0)
		return -1;
	if (gw->mo_token_file != NULL &&
	    sms_read_secret(gw->mo_token_file, SMS_MO_TOKEN_MIN, &gw->mo_token,
	        err, errlen) != 0)
		return -1;
	return 0;
}

void
sms_gateway_clear(struct sms_gateway *gw)
{
	size_t i;

	free(gw->url);
	free(gw->username);
	free(gw->password_file);
	free(gw->from);
	free(gw->mo_token_file);
	free(gw->method);
	for (i = 0; i < gw->nheaders; i++)
		free(gw->headers[i]);
	free(gw->headers);
	free(gw->body);
	free(gw->content_type);
	sms_secret_free(&gw->password);
	sms_secret_free(&gw->mo_token);
	memset(gw, 0, sizeof(*gw));
}

int
sms_number_valid(const char *number)
{
	size_t n;

	if (number == NULL || number[0] != '+' || number[1] < '1' ||
	    number[1] > '9')
		return 0;
	n = strlen(number + 1);
	return n >= 8 && n <= 15 && strspn(number + 1, "0123456789") == n;
}

/* ----------------------------------------------------------------- texts */

/* The GSM 03.38 basic set outside ASCII (ESC, LF and CR left out). */
static const uint16_t sms_gsm_extra[] = {0x00a3, 0x00a5, 0x00e8, 0x00e9, 0x00f9,
    0x00ec, 0x00f2, 0x00c7, 0x00d8, 0x00f8, 0x00c5, 0x00e5, 0x0394, 0x03a6,
    0x0393, 0x039b, 0x03a9, 0x03a0, 0x03a8, 0x03a3, 0x0398, 0x039e, 0x00c6,
    0x00e6, 0x00df, 0x00c9, 0x00a4, 0x00a1, 0x00c4, 0x00d6, 0x00d1, 0x00dc,
    0x00a7, 0x00bf, 0x00e4, 0x00f6, 0x00f1, 0x00fc, 0x00e0};

/* U+00C0..U+00FF not in the set: the letter without its accent. */
static const char sms_latin1_fold[] = "AAAAAAACEEEEIIIIDNOOOOO?OUUUUY?s"
                                      "aaaaaaaceeeeiiiidnooooo?ouuuuy?y";

/* The code point at *s, advancing *s; -1 (one byte consumed) when the
 * UTF-8 there is malformed, overlong or a surrogate. */
static long
sms_utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	long cp, min;
	int n, i;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 1;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 2;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 3;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		*s = p + 1;
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s = p + 1;
			return -1;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*s = p + n + 1;
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return cp;
}

/* The GSM-7 basic character for cp: cp itself, a stand-in, or '?'. */
static long
sms_gsm_char(long cp)
{
	size_t i;

	if (cp >= 0x20 && cp < 0x7f)
		return strchr("[\\]^`{|}~", (int)cp) != NULL ? '?' : cp;
	for (i = 0; i < sizeof(sms_gsm_extra) / sizeof(sms_gsm_extra[0]); i++)
		if (sms_gsm_extra[i] == cp)
			return cp;
	if (cp >= 0xc0 && cp <= 0xff)
		return sms_latin1_fold[cp - 0xc0];
	switch (cp) {
	case 0x00a0: /* no-break space */
		return ' ';
	case 0x2018:
	case 0x2019:
		return '\'';
	case 0x201c:
	case 0x201d:
		return '"';
	case 0x2013:
	case 0x2014:
		return '-';
	}
	return '?';
}

/* s in GSM-7 basic characters, UTF-8 encoded into out (2 * max + 1
 * bytes), at most max characters, trailing spaces dropped.  Returns the
 * number of characters. */
static size_t
sms_gsm(const char *s, char *out, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0, len = 0, lastword = 0, lastchars = 0;
	long cp;

	while (s != NULL && *p != '\0' && chars < max) {
		cp = sms_gsm_char(sms_utf8_next(&p));
		if (cp < 0x80)
			out[len++] = (char)cp;
		else {
			out[len++] = (char)(0xc0 | (cp >> 6));
			out[len++] = (char)(0x80 | (cp & 0x3f));
		}
		chars++;
		if (cp != ' ') {
			lastword = len;
			lastchars = chars;
		}
	}
	out[lastword] = '\0';
	return lastchars;
}

static int
sms_ref_valid(const char *ref)
{
	static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "abcdefghijklmnopqrstuvwxyz";
	size_t n;

	if (ref == NULL)
		return 0;
	n = strlen(ref);
	return n >= 1 && n <= SMS_REF_MAX && strspn(ref, alnum) == n;
}

static void
sms_hhmm(time_t t, char out[8])
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(out, 8, "%H:%M", &tm) != 5)
		snprintf(out, 8, "??:??");
}

/* The upper-cased word of a type or event, for the start of a text. */
static size_t
sms_word(const char *s, char *out, size_t max)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i < max; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			out[i] = (char)(s[i] - 'a' + 'A');
		else if ((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_')
			out[i] = s[i];
		else
			out[i] = '?';
	}
	out[i] = '\0';
	return i;
}

/* text into out when it fits; else out is left empty and 0 returned. */
static size_t
sms_put(char *out, size_t outlen, const char *text)
{
	size_t n = text != NULL ? strlen(text) : 0;

	if (text == NULL || n + 1 > outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, text, n + 1);
	return n;
}

size_t
sms_format_alert(char *out, size_t outlen, const char *alert_type,
    const char *alias, time_t t, const char *ref)
{
	char type[SMS_TYPE_MAX + 2], name[SMS_TEXT_MAX], hhmm[8];
	char text[SMS_TEXT_MAX + 64];
	size_t fixed, reflen;

	if (!sms_ref_valid(ref))
		return sms_put(out, outlen, NULL);
	reflen = strlen(ref);
	type[0] = ' ';
	if (sms_word(alert_type, type + 1, SMS_TYPE_MAX) == 0)
		type[0] = '\0';
	sms_hhmm(t, hhmm);
	/* "ALERT[ TYPE] from ALIAS HH:MM ref R. Reply ACK R" */
	fixed = strlen("ALERT from   ref . Reply ACK ") + strlen(type) +
	    strlen(hhmm) + 2 * reflen;
	if (sms_gsm(alias, name, SMS_CHARS_MAX - fixed) == 0)
		snprintf(text, sizeof(text), "ALERT%s %s ref %s. Reply ACK %s",
		    type, hhmm, ref, ref);
	else
		snprintf(text, sizeof(text),
		    "ALERT%s from %s %s ref %s. Reply ACK %s", type, name, hhmm,
		    ref, ref);
	return sms_put(out, outlen, text);
}

size_t
sms_format_event(char *out, size_t outlen, const char *event, const char *ref,
    const char *by, time_t t)
{
	static const struct {
		const char *event, *word;
	} words[] = {
	    {"acknowledged", "ACK"},
	    {"cancelled", "CANCELLED"},
	    {"escalated", "ESCALATED"},
	};
	char name[SMS_TEXT_MAX], hhmm[8], text[SMS_TEXT_MAX + 64];
	const char *word = NULL;
	size_t i, fixed;

	for (i = 0; event != NULL && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(event, words[i].event) == 0)
			word = words[i].word;
	if (word == NULL || !sms_ref_valid(ref))
		return sms_put(out, outlen, NULL);
	sms_hhmm(t, hhmm);
	/* "WORD R by B HH:MM" */
	fixed = strlen(word) + strlen(ref) + strlen(hhmm) + strlen("  by  ");
	if (by == NULL || sms_gsm(by, name, SMS_CHARS_MAX - fixed) == 0)
		snprintf(text, sizeof(text), "%s %s %s", word, ref, hhmm);
	else
		snprintf(text, sizeof(text), "%s %s by %s %s", word, ref, name,
		    hhmm);
	return sms_put(out, outlen, text);
}

/* ---------------------------------------------------------------- sending */

struct sms_req {
	struct http_req *req;
	sms_done_cb cb;
	void *arg;
	TAILQ_ENTRY(sms_req) entry;
};

static TAILQ_HEAD(, sms_req) sms_reqs = TAILQ_HEAD_INITIALIZER(sms_reqs);

/* One request, built and then handed to http_post(); wiped after. */
struct sms_request {
	const char *method;
	struct sms_buf url;
	struct sms_buf body;
	char *userpwd; /* sodium_malloc'd */
	char *headers[SMS_HEADERS_MAX + 2];
	size_t nheaders;
};

static void
sms_request_free(struct sms_request *r)
{
	size_t i;

	sms_buf_free(&r->url);
	sms_buf_free(&r->body);
	sms_secret_free(&r->userpwd);
	for (i = 0; i < r->nheaders; i++) {
		sodium_memzero(r->headers[i], strlen(r->headers[i]));
		free(r->headers[i]);
	}
	r->nheaders = 0;
}

static void
sms_userpwd(struct sms_request *r, const char *user, const char *password)
{
	size_t ulen = strlen(user), plen = strlen(password);

	if ((r->userpwd = sodium_malloc(ulen + plen + 2)) == NULL)
		log_fatal("sodium_malloc");
	memcpy(r->userpwd, user, ulen);
	r->userpwd[ulen] = ':';
	memcpy(r->userpwd + ulen + 1, password, plen + 1);
}

/* name=value, value percent-encoded, appended with '&' (or nothing). */
static int
sms_form_add(struct sms_buf *b, const char *name, const char *value)
{
	char *e = sms_escape(value, ESC_URL);
	int rc;

	rc = (b->len > 0 ? sms_buf_add(b, "&", 1) : 0) |
	    sms_buf_add(b, name, strlen(name)) | sms_buf_add(b, "=", 1) |
	    sms_buf_add(b, e, strlen(e));
	sodium_memzero(e, strlen(e));
	free(e);
	return rc;
}

/* Copies the URL curl built into b, wiping curl's copy. */
static int
sms_url_take(CURLU *u, struct sms_buf *b)
{
	char *url = NULL;
	int rc;

	if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		return -1;
	rc = sms_buf_add(b, url, strlen(url));
	sodium_memzero(url, strlen(url));
	curl_free(url);
	return rc;
}

/* GET {url}?username=..&password=..&from=..&to=..&text=..&charset=UTF-8
 * (Kannel's sendsms; an existing query in url is kept). */
static int
sms_kannel_request(const struct sms_gateway *gw, const char *to,
    const char *text, struct sms_request *r, char *err, size_t errlen)
{
	struct sms_buf q = {0};
	CURLU *u;
	int rc = -1;

	if (sms_form_add(&q, "username", gw->username) != 0 ||
	    sms_form_add(&q, "password", gw->password) != 0 ||
	    sms_form_add(&q, "from", gw->from) != 0 ||
	    sms_form_add(&q, "to", to) != 0 ||
	    sms_form_add(&q, "text", text) != 0 ||
	    sms_form_add(&q, "charset", "UTF-8") != 0 ||
	    sms_form_add(&q, "coding", "0") != 0) {
		snprintf(err, errlen, "request too long");
		sms_buf_free(&q);
		return -1;
	}
	if ((u = curl_url()) == NULL)
		log_fatalx("curl_url failed");
	if (curl_url_set(u, CURLUPART_URL, gw->url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, q.p, CURLU_APPENDQUERY) !=
	        CURLUE_OK ||
	    sms_url_take(u, &r->url) != 0)
		snprintf(err, errlen, "cannot build the sendsms URL");
	else {
		r->method = "GET";
		rc = 0;
	}
	curl_url_cleanup(u);
	sms_buf_free(&q);
	return rc;
}

/* POST {url}/2010-04-01/Accounts/{sid}/Messages.json, Basic sid:token,
 * form To, From, Body. */
static int
sms_twilio_request(const struct sms_gateway *gw, const char *to,
    const char *text, struct sms_request *r, char *err, size_t errlen)
{
	CURLU *u;
	char *path = NULL, *sid, *newpath = NULL;
	size_t n;
	int rc = -1;

	if ((u = curl_url()) == NULL)
		log_fatalx("curl_url failed");
	sid = sms_escape(gw->username, ESC_URL);
	if (curl_url_set(u, CURLUPART_URL, gw->url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		n = strlen(path);
		while (n > 0 && path[n - 1] == '/')
			n--;
		newpath = xasprintf("%.*s/2010-04-01/Accounts/%s/Messages.json",
		    (int)n, path, sid);
		if (curl_url_set(u, CURLUPART_PATH, newpath, 0) == CURLUE_OK &&
		    sms_url_take(u, &r->url) == 0)
			rc = 0;
	}
	curl_free(path);
	free(newpath);
	free(sid);
	curl_url_cleanup(u);
	if (rc != 0) {
		snprintf(err, errlen, "cannot build the Messages URL");
		return -1;
	}
	if (sms_form_add(&r->body, "To", to) != 0 ||
	    sms_form_add(&r->body, "From", gw->from) != 0 ||
	    sms_form_add(&r->body, "Body", text) != 0) {
		snprintf(err, errlen, "request too long");
		return -1;
	}
	r->method = "POST";
	sms_userpwd(r, gw->username, gw->password);
	r->headers[r->nheaders++] = xstrdup("Content-Type: " SMS_FORM_TYPE);
	r->headers[r->nheaders++] = xstrdup("Accept: application/json");
	return 0;
}

static int
sms_http_request(const struct sms_gateway *gw, const char *to, const char *text,
    const char *ref, struct sms_request *r, char *err, size_t errlen)
{
	const char *vars[VAR_N] = {to, gw->from, text, ref, gw->password};
	struct sms_buf h = {0};
	int has_type = 0;
	size_t i;

	if (sms_expand(&r->url, "url", gw->url, vars, ESC_URL, err, errlen) !=
	        0 ||
	    sms_url_check(r->url.p, 1, err, errlen) != 0)
		return -1;
	for (i = 0; i < gw->nheaders; i++) {
		if (sms_expand(&h, "header", gw->headers[i], vars, ESC_HEADER,
		        err, errlen) != 0) {
			sms_buf_free(&h);
			return -1;
		}
		if (strncasecmp(h.p, "Content-Type:", 13) == 0)
			has_type = 1;
		r->headers[r->nheaders++] = xstrdup(h.p);
		sms_buf_free(&h);
	}
	r->method = gw->method;
	if (strcmp(gw->method, "POST") == 0) {
		if (!has_type)
			r->headers[r->nheaders++] =
			    xasprintf("Content-Type: %s", gw->content_type);
		if (sms_expand(&r->body, "body", gw->body, vars,
		        sms_body_escape(gw->content_type), err, errlen) != 0)
			return -1;
	}
	if (gw->username != NULL)
		sms_userpwd(r, gw->username, gw->password);
	return 0;
}

static int
sms_text_valid(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text);

	if (n == 0 || n >= SMS_TEXT_MAX)
		return 0;
	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f || sms_utf8_next(&p) < 0)
			return 0;
	}
	return 1;
}

static void
sms_http_done(long status, const char *error, void *arg)
{
	struct sms_req *sr = arg;
	char buf[64];
	int ok = status >= 200 && status <= 299;

	TAILQ_REMOVE(&sms_reqs, sr, entry);
	if (!ok && error == NULL) {
		snprintf(buf, sizeof(buf), "gateway answered HTTP %ld", status);
		error = buf;
	}
	if (sr->cb != NULL)
		sr->cb(ok, status, ok ? NULL : error, sr->arg);
	free(sr);
}

struct http_req *
sms_send(struct http_client *hc, const struct sms_gateway *gw, const char *to,
    const char *text, const char *ref, long connect_timeout_ms, long timeout_ms,
    sms_done_cb cb, void *arg)
{
	struct sms_request r = {0};
	struct http_post_args a = {0};
	struct sms_req *sr;
	char err[256];
	int rc = -1;

	if (!sms_number_valid(to))
		snprintf(err, sizeof(err), "not an E.164 number");
	else if (text == NULL || !sms_text_valid(text))
		snprintf(err, sizeof(err),
		    "text is empty, too long, not UTF-8 or has control "
		    "characters");
	else if (ref != NULL && ref[0] != '\0' && !sms_ref_valid(ref))
		snprintf(err, sizeof(err), "bad reference");
	else if (!gw->has_type || gw->url == NULL ||
	    (gw->password_file != NULL && gw->password == NULL) ||
	    (gw->type == SMS_HTTP && gw->method == NULL))
		snprintf(err, sizeof(err), "gateway not checked");
	else if (gw->type == SMS_KANNEL)
		rc = sms_kannel_request(gw, to, text, &r, err, sizeof(err));
	else if (gw->type == SMS_TWILIO)
		rc = sms_twilio_request(gw, to, text, &r, err, sizeof(err));
	else
		rc = sms_http_request(gw, to, text, ref ? ref : "", &r, err,
		    sizeof(err));
	if (rc != 0) {
		log_warnx("sms gateway %s: cannot send: %s", gw->name, err);
		sms_request_free(&r);
		return NULL;
	}
	a.method = r.method;
	a.url = r.url.p;
	a.userpwd = r.userpwd;
	a.headers = (const char *const *)r.headers;
	a.nheaders = r.nheaders;
	a.body = r.body.p;
	a.bodylen = r.body.len;
	a.connect_timeout_ms = connect_timeout_ms;
	a.timeout_ms = timeout_ms;
	sr = xcalloc(1, sizeof(*sr));
	sr->cb = cb;
	sr->arg = arg;
	TAILQ_INSERT_TAIL(&sms_reqs, sr, entry);
	sr->req = http_post(hc, &a, sms_http_done, sr);
	sms_request_free(&r);
	return sr->req;
}

void
sms_send_cancel(struct http_req *req)
{
	struct sms_req *sr;

	TAILQ_FOREACH(sr, &sms_reqs, entry)
	{
		if (sr->req == req) {
			TAILQ_REMOVE(&sms_reqs, sr, entry);
			http_req_cancel(sr->req);
			free(sr);
			return;
		}
	}
}

void
sms_send_forget_all(void)
{
	struct sms_req *sr;

	while ((sr = TAILQ_FIRST(&sms_reqs)) != NULL) {
		TAILQ_REMOVE(&sms_reqs, sr, entry);
		free(sr);
	}
}
