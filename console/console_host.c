/* Which Host the page listener answers (console_host.h). */
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "console.h"
#include "console_host.h"
#include "http_host.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define CONSOLE_HOST_LOG_MS 10000

static int
console_host_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > CONSOLE_HOST_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* Calls add for each space-separated word of value; -1 at a bad one. */
static int
console_host_words(const char *value, struct console_hosts *h)
{
	const char *p = value, *e;
	size_t count = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return count > 0 ? 0 : -1;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		if (!console_host_name_ok(p, (size_t)(e - p)) ||
		    ++count > CONSOLE_HOST_NAMES / 2)
			return -1;
		if (h != NULL)
			h->name[h->n++] = xstrndup(p, (size_t)(e - p));
		p = e;
	}
}

int
console_host_names_ok(const char *value)
{
	return console_host_words(value, NULL);
}

/* The certificate's DNS names, up to the table's room. */
static int
console_host_cert(struct console_hosts *h, const char *path)
{
	GENERAL_NAMES *names;
	X509 *x = NULL;
	FILE *f;
	int i;

	if ((f = fopen(path, "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		log_warnx("%s: cannot read the certificate's names", path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(names) && h->n < CONSOLE_HOST_NAMES;
	     i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const unsigned char *s;
		int n;

		if (g->type != GEN_DNS)
			continue;
		s = ASN1_STRING_get0_data(g->d.dNSName);
		n = ASN1_STRING_length(g->d.dNSName);
		if (n > 0 && console_host_name_ok((const char *)s, (size_t)n))
			h->name[h->n++] = xstrndup((const char *)s, (size_t)n);
	}
	GENERAL_NAMES_free(names);
	X509_free(x);
	return 0;
}

int
console_hosts_load(struct console_hosts *h, const struct console_config *cfg)
{
	memset(h, 0, sizeof(*h));
	if (cfg->server_name != NULL &&
	    console_host_words(cfg->server_name, h) != 0)
		return -1; /* checked when the configuration was read */
	if (cfg->tls_cert != NULL)
		return console_host_cert(h, cfg->tls_cert);
	return 0;
}

void
console_hosts_free(struct console_hosts *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->name[i]);
	h->n = 0;
}

int
console_host_check(struct console_hosts *h, struct evhttp_request *req)
{
	const char *host =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	struct sockaddr_storage ss;
	size_t i;

	if (http_host_local_addr(req, &ss) == 0 &&
	    http_host_local(host, (struct sockaddr *)&ss))
		return 0;
	for (i = 0; i < h->n; i++)
		if (http_host_named(host, h->name[i]))
			return 0;
	if (now_ms() - h->logged_ms >= CONSOLE_HOST_LOG_MS) {
		h->logged_ms = now_ms();
		log_warnx("refused request: 421 for another Host (DNS "
		          "rebinding?), see server_name");
	}
	return -1;
}
