/*
 * alertctl ack: a person at the contact point acknowledges an alert on
 * the relay's HTTPS ack listener (docs/PROTOCOL.md, "Acknowledgements"):
 *
 *	POST {url}/v1/alerts/{alert_id}/ack
 *	Authorization: Bearer <recipient token>
 *
 * over TLS 1.3, the relay's key checked against a pin or its certificate
 * against a CA file.  One blocking libcurl request: this is a CLI.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "alertctl.h"
#include "b64.h"
#include "frame.h"
#include "http_post.h"
#include "keyfile.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "tls.h"
#include "usage.h"
#include "util.h"
#include "wipealloc.h"
#include "xmalloc.h"

#define ACK_TIMEOUT_DEFAULT 30
#define ACK_TIMEOUT_MAX 3600
#define ACK_CONNECT_TIMEOUT_S 10

struct ack_opts {
	const char *alert_id;
	const char *url;
	const char *token_file;
	const char *pin;
	const char *cacert;
	long timeout_s;
};

/* What came back. */

enum {
	OPT_URL = 256,
	OPT_TOKEN_FILE,
	OPT_PIN,
	OPT_CACERT,
	OPT_TIMEOUT,
};

static int
cmd_ack_check(struct ack_opts *o)
{
	unsigned char raw[32];

	if (o->alert_id == NULL || !alert_id_valid(o->alert_id))
		return usage_error("ack",
		    "expected an alert_id (32 lowercase hex digits)");
	if (o->url == NULL || o->token_file == NULL)
		return usage_error("ack",
		    "--url and --token-file are required");
	if (strncasecmp(o->url, "https://", 8) != 0 || o->url[8] == '\0')
		return usage_error("ack", "--url must be https://HOST:PORT");
	if (o->pin != NULL && o->cacert != NULL)
		return usage_error("ack", "give --pin or --cacert, not both");
	if (o->pin != NULL && b64_decode_exact(o->pin, raw, sizeof(raw)) != 0)
		return usage_error("ack",
		    "--pin is the base64 SHA-256 that 'alertctl pin' prints");
	return 0;
}

static int
cmd_ack_parse(int argc, char **argv, struct ack_opts *o)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, OPT_URL},
	    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	    {"pin", required_argument, NULL, OPT_PIN},
	    {"cacert", required_argument, NULL, OPT_CACERT},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->timeout_s = ACK_TIMEOUT_DEFAULT;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_URL:
			o->url = optarg;
			break;
		case OPT_TOKEN_FILE:
			o->token_file = optarg;
			break;
		case OPT_PIN:
			o->pin = optarg;
			break;
		case OPT_CACERT:
			o->cacert = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_long(optarg, 1, ACK_TIMEOUT_MAX,
			        &o->timeout_s) != 0)
				return usage_error("ack",
				    "--timeout must be 1..%d seconds",
				    ACK_TIMEOUT_MAX);
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage_print("ack", stdout);
			return -1;
		default:
			return usage_error("ack", "bad option");
		}
	}
	if (argc - optind > 1)
		return usage_error("ack", "unexpected argument '%s'",
		    argv[optind + 1]);
	if (argc - optind == 1)
		o->alert_id = argv[optind];
	return cmd_ack_check(o);
}

/* The token, which must be one word of printable ASCII (RFC 6750's
 * b64token), from a file that only its owner can read. */
static char *
cmd_ack_token(const char *path)
{
	char err[512], *token;
	const char *p;

	if (keyfile_read_text(path, 1, &token, err, sizeof(err)) != 0) {
		log_warnx("token: %s", err);
		return NULL;
	}
	for (p = token; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) &&
		    strchr("-._~+/=", *p) == NULL)
			break;
	if (*p != '\0') {
		log_warnx("token: %s does not hold a token (make one with "
		          "'alertctl keygen ack-token')",
		    path);
		sodium_memzero(token, strlen(token));
		free(token);
		return NULL;
	}
	return token;
}

static void
cmd_ack_trust(CURL *c, const struct ack_opts *o)
{
	char *pin;

	if (o->pin != NULL) {
		/* The pin is the trust, as for devices: no CA, no name. */
		pin = xasprintf("sha256//%s", o->pin);
		curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pin);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		free(pin);
	} else if (o->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
}

struct ack_request {
	const struct ack_opts *o;
	const char *token;
};

static void
cmd_ack_setup(CURL *c, void *arg)
{
	const struct ack_request *q = arg;

	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)(CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_DEFAULT));
	cmd_ack_trust(c, q->o);
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, q->token);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    (long)ACK_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, q->o->timeout_s);
}

/* The request; CURLE_OK when an HTTP answer came. */
static CURLcode
cmd_ack_post(const struct ack_opts *o, const char *token, struct http_reply *r,
    char *err)
{
	struct ack_request q = {o, token};
	char *base = xstrdup(o->url), *url;
	size_t len = strlen(base);
	CURLcode rc;

	while (len > 8 && base[len - 1] == '/')
		base[--len] = '\0';
	url = xasprintf("%s/v1/alerts/%s/ack", base, o->alert_id);
	free(base);
	rc = http_post_empty(url, cmd_ack_setup, &q, r, err);
	free(url);
	return rc;
}

static const char *
cmd_ack_meaning(long status)
{
	switch (status) {
	case 401:
		return "the token was not accepted";
	case 404:
		return "the relay does not know this alert";
	case 409:
		return "the alert was cancelled";
	default:
		return "the relay did not take the acknowledgement";
	}
}

static int
cmd_ack_answer(const struct ack_opts *o, const struct http_reply *r)
{
	char by[128], detail[256] = "";
	const char *msg;
	json_t *body;
	int first = 0, known;

	body = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	if (r->status != 200) {
		if ((msg = json_str(body, "message")) != NULL ||
		    (msg = json_str(body, "error")) != NULL)
			out_clean(msg, detail, sizeof(detail));
		log_warnx("ack of alert %s refused: HTTP %ld%s%s: %s%s%s",
		    o->alert_id, r->status, r->reason[0] != '\0' ? " " : "",
		    r->reason, cmd_ack_meaning(r->status),
		    detail[0] != '\0' ? ": " : "", detail);
		json_decref(body);
		return EXIT_FAIL;
	}
	known = json_bool_get(body, "first", &first) == 0;
	out_clean(json_str(body, "by") != NULL ? json_str(body, "by") : "?", by,
	    sizeof(by));
	out_line(MSG_ACKNOWLEDGED, o->alert_id, by,
	    !known      ? "answer incomplete"
	        : first ? MSG_ACK_FIRST
	                : MSG_ACK_AGAIN);
	json_decref(body);
	return EXIT_OK;
}

static int
cmd_ack_run(const struct ack_opts *o)
{
	char err[CURL_ERROR_SIZE] = "", *token;
	struct http_reply *r;
	int rc = EXIT_FAIL;

	if ((token = cmd_ack_token(o->token_file)) == NULL)
		return EXIT_FAIL;
	/* curl copies the token (CURLOPT_XOAUTH2_BEARER) and the header
	 * it builds from it: wiped as curl frees them. */
	if (wipealloc_curl_init(CURL_GLOBAL_DEFAULT) != 0)
		log_fatalx("curl_global_init failed");
	r = xcalloc(1, sizeof(*r));
	if (cmd_ack_post(o, token, r, err) != CURLE_OK)
		log_warnx("ack of alert %s: %s", o->alert_id, err);
	else
		rc = cmd_ack_answer(o, r);
	free(r);
	sodium_memzero(token, strlen(token));
	free(token);
	curl_global_cleanup();
	return rc;
}

int
cmd_ack(int argc, char **argv, struct globals *g)
{
	struct ack_opts o;
	int rc;

	(void)g;
	if ((rc = cmd_ack_parse(argc, argv, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	return cmd_ack_run(&o);
}
