#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

#include "netaddr.h"
#include "util.h"
#include "xmalloc.h"

int
netaddr_parse(const char *s, struct sockaddr_storage *ss, int *len)
{
	char *host;
	int port;

	*len = sizeof(*ss);
	/* evutil accepts a missing port; we want one. */
	if (hostport_parse(s, &host, &port) != 0)
		return -1;
	free(host);
	return evutil_parse_sockaddr_port(s, (struct sockaddr *)ss, len);
}

int
netaddr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)
		                  ->sin_addr.s_addr) >>
		           24) == 127;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)ss)->sin6_addr);
	return 0;
}

size_t
netaddr_source(const struct sockaddr *sa, unsigned char key[NETADDR_SOURCE_MAX])
{
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
		return 8;
	}
	memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	return 4;
}
