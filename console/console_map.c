/*
 * The map's configuration and the policy that follows from it
 * (console_map.h).
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "console_map.h"
#include "log.h"
#include "xmalloc.h"

#define CONSOLE_MAP_CSP_BASE                                                   \
	"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "        \
	"form-action 'self'"

static char console_map_policy[CONSOLE_MAP_URL_MAX + 256] =
    CONSOLE_MAP_CSP_BASE;
static char *console_map_answer;

static int
console_map_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	char h[64];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* evhttp keeps an IPv6 host in its brackets */
	if (n < 3 || n >= sizeof(h) + 2 || host[0] != '[')
		return 0;
	memcpy(h, host + 1, n - 2);
	h[n - 2] = '\0';
	return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* A host that goes into the policy as it is: no space, quote, comma or
 * semicolon could end the source expression. */
static int
console_map_host_ok(const char *host)
{
	size_t i;

	if (host == NULL || host[0] == '\0')
		return 0;
	for (i = 0; host[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]",
		        host[i]) == NULL)
			return 0;
	return 1;
}

/* The template as a URL evhttp can parse: {z}, {x} and {y} become 0. */
static void
console_map_example(const char *t, char out[CONSOLE_MAP_URL_MAX])
{
	size_t i = 0;

	while (*t != '\0' && i < CONSOLE_MAP_URL_MAX - 1) {
		if (strncmp(t, "{z}", 3) == 0 || strncmp(t, "{x}", 3) == 0 ||
		    strncmp(t, "{y}", 3) == 0) {
			out[i++] = '0';
			t += 3;
		} else
			out[i++] = *t++;
	}
	out[i] = '\0';
}

/* The origin of the tile template into out: scheme://host[:port]. */
static int
console_map_origin(const char *tmpl, char *out, size_t size)
{
	char url[CONSOLE_MAP_URL_MAX];
	struct evhttp_uri *u;
	const char *scheme, *host;
	int port, rc = -1;

	console_map_example(tmpl, url);
	if ((u = evhttp_uri_parse(url)) == NULL)
		return -1;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	if (scheme != NULL && console_map_host_ok(host) &&
	    evhttp_uri_get_userinfo(u) == NULL &&
	    (strcmp(scheme, "https") == 0 ||
	        (strcmp(scheme, "http") == 0 && console_map_loopback(host)))) {
		if (port > 0)
			snprintf(out, size, "%s://%s:%d", scheme, host, port);
		else
			snprintf(out, size, "%s://%s", scheme, host);
		rc = 0;
	}
	evhttp_uri_free(u);
	return rc;
}

int
console_map_check(const struct console_config *cfg)
{
	char origin[CONSOLE_MAP_URL_MAX];
	const char *t = cfg->map_tiles;

	if (t == NULL)
		return 0;
	if (strlen(t) >= CONSOLE_MAP_URL_MAX || strstr(t, "{z}") == NULL ||
	    strstr(t, "{x}") == NULL || strstr(t, "{y}") == NULL ||
	    strstr(t, "{s}") != NULL ||
	    console_map_origin(t, origin, sizeof(origin)) != 0) {
		log_warnx(
		    "config: map_tiles = %s: not an https:// URL (http:// "
		    "only to a loopback address) with {z}, {x} and {y} on "
		    "one host ({s} is not taken: one origin only)",
		    t);
		return -1;
	}
	return 0;
}

void
console_map_init(const struct console_config *cfg)
{
	char origin[CONSOLE_MAP_URL_MAX];
	json_t *o;

	if (cfg->map_tiles != NULL &&
	    console_map_origin(cfg->map_tiles, origin, sizeof(origin)) == 0) {
		/* Tiles are images: only img-src names the server. */
		snprintf(console_map_policy, sizeof(console_map_policy),
		    "%s; img-src 'self' %s", CONSOLE_MAP_CSP_BASE, origin);
		log_info("map: tiles from %s (it learns the alerts' positions)",
		    origin);
	}
	o = json_pack("{s:s?, s:s}", "tiles", cfg->map_tiles, "attribution",
	    cfg->map_attribution);
	free(console_map_answer);
	console_map_answer = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (console_map_answer == NULL)
		log_fatalx("cannot make the map's configuration");
}

const char *
console_map_csp(void)
{
	return console_map_policy;
}

char *
console_map_json(void)
{
	return console_map_answer != NULL ? xstrdup(console_map_answer) : NULL;
}

void
console_map_free(void)
{
	free(console_map_answer);
	console_map_answer = NULL;
}
