/* Requests to the relay's ack listener (cp_http.h). */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "ack_conflict.h"
#include "alertctl.h"
#include "b64.h"
#include "cp_http.h"
#include "i18n.h"
#include "keyfile.h"
#include "log.h"
#include "usage.h"
#include "util.h"
#include "wipealloc.h"
#include "xmalloc.h"

#define CP_HTTP_CONNECT_TIMEOUT_S 10

void
cp_http_init(struct cp_http *h, const char *cmd)
{
	memset(h, 0, sizeof(*h));
	h->cmd = cmd;
	h->timeout_s = CP_HTTP_TIMEOUT_DEFAULT;
}

int
cp_http_opt(struct cp_http *h, int ch, int *rc)
{
	*rc = 0;
	switch (ch) {
	case CP_HTTP_OPT_URL:
		h->url = optarg;
		break;
	case CP_HTTP_OPT_TOKEN_FILE:
		h->token_file = optarg;
		break;
	case CP_HTTP_OPT_PIN:
		h->pin = optarg;
		break;
	case CP_HTTP_OPT_CACERT:
		h->cacert = optarg;
		break;
	case CP_HTTP_OPT_TIMEOUT:
		if (parse_long(optarg, 1, CP_HTTP_TIMEOUT_MAX, &h->timeout_s) !=
		    0)
			*rc = usage_error(h->cmd,
			    _("--timeout must be 1..%d seconds"),
			    CP_HTTP_TIMEOUT_MAX);
		break;
	case 'c':
		h->config = optarg;
		break;
	case 'v':
		log_set_level(LOG_DEBUG);
		break;
	case 'h':
		usage_print(h->cmd, stdout);
		*rc = -1;
		break;
	default:
		return 0;
	}
	return 1;
}

int
cp_http_resolve(struct cp_http *h, const char *config)
{
	unsigned char raw[32];

	if (cp_config_find(h->config != NULL ? h->config : config, &h->cfg) !=
	    0)
		return EXIT_FAIL;
	if (h->url == NULL)
		h->url = h->cfg.ack_url;
	if (h->token_file == NULL)
		h->token_file = h->cfg.token_file;
	if (h->pin == NULL && h->cacert == NULL) {
		h->pin = h->cfg.relay_pin;
		h->cacert = h->cfg.cacert;
	}
	if (h->url == NULL || h->token_file == NULL)
		return usage_error(h->cmd,
		    _("where is the relay? Give --url and --token-file, or "
		      "ack_url and token_file in [contactpoint] of "
		      "alertctl.conf"));
	if (strncasecmp(h->url, "https://", 8) != 0 || h->url[8] == '\0')
		return usage_error(h->cmd,
		    _("the relay's address must be https://HOST:PORT"));
	if (h->pin != NULL && h->cacert != NULL)
		return usage_error(h->cmd,
		    _("give --pin or --cacert, not both"));
	if (h->pin != NULL && b64_decode_exact(h->pin, raw, sizeof(raw)) != 0)
		return usage_error(h->cmd,
		    _("the pin is the base64 SHA-256 that 'alertctl pin' "
		      "prints"));
	return 0;
}

/* The token, which must be one word of printable ASCII (RFC 6750's
 * b64token), from a file that only its owner can read. */
static char *
cp_http_token(const char *path)
{
	char err[512], *token;
	const char *p;

	if (keyfile_read_text(path, 1, &token, err, sizeof(err)) != 0) {
		log_warnx("%s: %s", _("token"), err);
		return NULL;
	}
	for (p = token; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) &&
		    strchr("-._~+/=", *p) == NULL)
			break;
	if (*p != '\0') {
		log_warnx(_("%s does not hold a token (make one with "
		            "'alertctl keygen ack-token')"),
		    path);
		sodium_memzero(token, strlen(token));
		free(token);
		return NULL;
	}
	return token;
}

struct cp_http_call {
	const struct cp_http *h;
	const char *token;
};

static void
cp_http_setup(CURL *c, void *arg)
{
	const struct cp_http_call *q = arg;
	char *pin;

	if (q->h->get)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else if (q->h->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(q->h->body));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->h->body);
	}
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)(CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_DEFAULT));
	if (q->h->pin != NULL) {
		/* The pin is the trust, as for devices: no CA, no name. */
		pin = xasprintf("sha256//%s", q->h->pin);
		curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pin);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		free(pin);
	} else if (q->h->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, q->h->cacert);
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, q->token);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    (long)CP_HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, q->h->timeout_s);
}

int
cp_http_request(struct cp_http *h, const char *path, struct http_reply *r,
    char *err)
{
	struct cp_http_call q = {h, NULL};
	char *base, *url, *token;
	size_t len;
	CURLcode rc;

	if ((token = cp_http_token(h->token_file)) == NULL)
		return -1;
	q.token = token;
	/* curl copies the token (CURLOPT_XOAUTH2_BEARER) and the header
	 * it builds from it: wiped as curl frees them. */
	if (wipealloc_curl_init(CURL_GLOBAL_DEFAULT) != 0)
		log_fatalx("curl_global_init failed");
	base = xstrdup(h->url);
	len = strlen(base);
	while (len > 8 && base[len - 1] == '/')
		base[--len] = '\0';
	url = xasprintf("%s%s", base, path);
	free(base);
	rc = http_post_empty(url, cp_http_setup, &q, r, err);
	free(url);
	sodium_memzero(token, strlen(token));
	free(token);
	curl_global_cleanup();
	return (int)rc;
}

const char *
cp_http_meaning(const struct http_reply *r)
{
	switch (r->status) {
	case 401:
		return _("the relay did not accept the token");
	case 404:
		return _("the relay knows no such alert sent to you");
	case 409: /* also a statement that does not match the alert */
		if (ack_conflict_cancelled(r->body, r->len))
			return _("the alert was cancelled");
		return _("the relay refused it: the alert may still be open");
	case 429:
		return _("the relay is limiting this token's requests (too "
		         "many at once): try again in a few seconds");
	default:
		return _("the relay did not take the request");
	}
}

void
cp_http_free(struct cp_http *h)
{
	cp_config_free(&h->cfg);
}
