/*
 * SMS gateways: the [gateway NAME] configuration, its secrets, and
 * sending one message through the gateway's driver (sms_kannel.c,
 * sms_twilio.c, sms_http.c) on the daemon's http_client.
 *
 * Secrets (the gateway password or token, the MO token) live in
 * sodium_malloc'd memory.  The buffers a request is built in, here and
 * in the drivers, are wiped before they are freed; http_client wipes its
 * copies and curl's (http_client.h says what is beyond reach).  Nothing
 * here logs a secret, a URL, a number or a text.
 */
#include <sys/queue.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "http_client.h"
#include "keyfile.h"
#include "log.h"
#include "sms_gateway.h"
#include "sms_request.h"
#include "xmalloc.h"

#define SMS_MO_TOKEN_MIN 16 /* characters of a gateway's MO token */

static const struct sms_driver *const sms_drivers[] = {
    &sms_kannel_driver,
    &sms_twilio_driver,
    &sms_http_driver,
};

static const struct sms_driver *
sms_gateway_driver(const struct sms_gateway *gw)
{
	size_t i;

	for (i = 0; i < sizeof(sms_drivers) / sizeof(sms_drivers[0]); i++)
		if (sms_drivers[i]->id == gw->type)
			return sms_drivers[i];
	return NULL;
}

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
    {"report_url", offsetof(struct sms_gateway, report_url), 0},
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
		for (i = 0; i < sizeof(sms_drivers) / sizeof(sms_drivers[0]);
		     i++) {
			if (strcmp(value, sms_drivers[i]->type) == 0) {
				gw->type = sms_drivers[i]->id;
				gw->has_type = 1;
				return 0;
			}
		}
		snprintf(err, errlen, "type must be kannel, twilio or http");
		return -1;
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

/*
 * report_url, kannel only: Kannel calls it with each delivery report.
 * The relay takes them at /v1/sms/<gateway>/report and answers 400 for
 * a gateway without report_url, so a path under /v1/sms/ that is not
 * this gateway's own report path would lose every report, silently, at
 * run time.  A path elsewhere is a proxy's, left to it.
 */
static int
sms_report_url_check(const struct sms_gateway *gw, char *err, size_t errlen)
{
	char want[ID_MAX + 32], why[256], *path = NULL;
	CURLU *u;
	int rc = 0;

	if (gw->report_url == NULL)
		return 0;
	if (gw->type != SMS_KANNEL) {
		snprintf(err, errlen, "report_url is for type kannel");
		return -1;
	}
	if (sms_request_url_check(gw->report_url, 0, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "report_url: %s", why);
		return -1;
	}
	if ((u = curl_url()) == NULL)
		log_fatalx("curl_url failed");
	snprintf(want, sizeof(want), "/v1/sms/%s/report", gw->name);
	if (curl_url_set(u, CURLUPART_URL, gw->report_url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) ==
	        CURLUE_OK &&
	    strncmp(path, "/v1/sms/", 8) == 0 && strcmp(path, want) != 0) {
		snprintf(err, errlen,
		    "report_url must have the path %s, this gateway's own: "
		    "the relay refuses its reports at any other /v1/sms/ path",
		    want);
		rc = -1;
	}
	curl_free(path);
	curl_url_cleanup(u);
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
	if (sms_report_url_check(gw, err, errlen) != 0)
		return -1;
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
	if (sms_gateway_driver(gw)->check(gw, err, errlen) != 0)
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
	free(gw->report_url);
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

/* ---------------------------------------------------------------- sending */

#define SMS_ANSWER_MAX 64 /* of a 2xx body: enough for Kannel's status line */

struct sms_req {
	struct http_req *req;
	const struct sms_driver *driver;
	char answer[SMS_ANSWER_MAX]; /* may echo the text: wiped */
	sms_done_cb cb;
	void *arg;
	TAILQ_ENTRY(sms_req) entry;
};

static TAILQ_HEAD(, sms_req) sms_reqs = TAILQ_HEAD_INITIALIZER(sms_reqs);

static void
sms_req_free(struct sms_req *sr)
{
	sodium_memzero(sr->answer, sizeof(sr->answer));
	free(sr);
}

/* A 2xx is taken as the driver reads its body; anything else failed. */
static void
sms_http_done(long status, const char *error, void *arg)
{
	struct sms_req *sr = arg;
	char buf[64];
	int ok = status >= 200 && status <= 299 ? SMS_ACCEPTED : SMS_FAILED;

	TAILQ_REMOVE(&sms_reqs, sr, entry);
	if (ok && sr->driver->answer != NULL)
		ok = sr->driver->answer(sr->answer);
	if (ok == SMS_QUEUED)
		error = SMS_QUEUED_ERROR;
	else if (!ok && error == NULL) {
		snprintf(buf, sizeof(buf), "gateway answered HTTP %ld", status);
		error = buf;
	}
	if (sr->cb != NULL)
		sr->cb(ok, status, ok == SMS_ACCEPTED ? NULL : error, sr->arg);
	sms_req_free(sr);
}

struct http_req *
sms_send(struct http_client *hc, const struct sms_gateway *gw, const char *to,
    const char *text, const char *ref, const char *report,
    long connect_timeout_ms, long timeout_ms, sms_done_cb cb, void *arg)
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
	else if (ref != NULL && ref[0] != '\0' && !sms_text_ref_valid(ref))
		snprintf(err, sizeof(err), "bad reference");
	else if (!gw->has_type || gw->url == NULL ||
	    (gw->password_file != NULL && gw->password == NULL) ||
	    (gw->type == SMS_HTTP && gw->method == NULL))
		snprintf(err, sizeof(err), "gateway not checked");
	else
		rc = sms_gateway_driver(gw)->request(gw, to, text,
		    ref ? ref : "", report, &r, err, sizeof(err));
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
	sr->driver = sms_gateway_driver(gw);
	a.answer = sr->answer;
	a.answerlen = sizeof(sr->answer);
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
			sms_req_free(sr);
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
		sms_req_free(sr);
	}
}
