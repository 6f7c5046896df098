/* Whether a Host header names this listener (see http_host.h). */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "http_host.h"

#define HTTP_HOST_MAX 300

/* The numeric address of local as a Host names it ("127.0.0.1",
 * "[::1]") and its port; -1 for other families. */
static int
http_host_local_name(const struct sockaddr *local, char *name, size_t len,
    unsigned *port)
{
	char a[INET6_ADDRSTRLEN];

	if (local->sa_family == AF_INET) {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)local;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(name, len, "%s", a);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (local->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)local;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(name, len, "[%s]", a);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

/* ":PORT" at the end, or nothing; 0 with the name's length in *n. */
static int
http_host_split(const char *host, size_t *n, unsigned *port, int *has_port)
{
	const char *colon = strrchr(host, ':');
	const char *bracket = strrchr(host, ']');
	char *end;
	unsigned long p;

	*has_port = 0;
	*n = strlen(host);
	if (colon == NULL || (bracket != NULL && colon < bracket))
		return 0;
	if (host[0] != '[' && strchr(host, ':') != colon)
		return -1; /* a bare IPv6 address is not a Host */
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || p > 65535 || end - colon > 6)
		return -1;
	*n = (size_t)(colon - host);
	*port = (unsigned)p;
	*has_port = 1;
	return 0;
}

int
http_host_local(const char *host, const struct sockaddr *local)
{
	char name[INET6_ADDRSTRLEN + 2];
	unsigned lport, hport = 0;
	size_t n;
	int has_port;

	if (host == NULL || strlen(host) > HTTP_HOST_MAX ||
	    http_host_local_name(local, name, sizeof(name), &lport) != 0 ||
	    http_host_split(host, &n, &hport, &has_port) != 0)
		return 0;
	if (has_port && hport != lport)
		return 0;
	/* Names other than localhost can be pointed at us by anyone. */
	if (n == strlen("localhost") && strncasecmp(host, "localhost", n) == 0)
		return 1;
	return n == strlen(name) && strncasecmp(host, name, n) == 0;
}

int
http_host_named(const char *host, const char *name)
{
	unsigned port;
	size_t n;
	int has_port;

	if (host == NULL || name == NULL || strlen(host) > HTTP_HOST_MAX ||
	    http_host_split(host, &n, &port, &has_port) != 0)
		return 0;
	return n > 0 && n == strlen(name) && strncasecmp(host, name, n) == 0;
}

int
http_host_local_addr(struct evhttp_request *req, struct sockaddr_storage *ss)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev =
	    evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	socklen_t len = sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	return bev == NULL ||
	        getsockname(bufferevent_getfd(bev), (struct sockaddr *)ss,
	            &len) != 0
	    ? -1
	    : 0;
}
