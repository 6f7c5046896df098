/*
 * Numeric socket addresses from the configuration, never resolved
 * (netaddr.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
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

/* The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d, what a
 * dual-stack listener on [::] sees for an IPv4 client) or a NAT64
 * (64:ff9b::a.b.c.d, RFC 6052) address, or NULL: such a client is the
 * IPv4 host, not one of the 2^64 hosts of a /64 that all of IPv4 would
 * otherwise share. */
static const unsigned char *
netaddr_embedded_v4(const struct in6_addr *a)
{
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

	if (IN6_IS_ADDR_V4MAPPED(a) || memcmp(a->s6_addr, nat64, 12) == 0)
		return a->s6_addr + 12;
	return NULL;
}

size_t
netaddr_source(const struct sockaddr *sa, unsigned char key[NETADDR_SOURCE_MAX])
{
	const unsigned char *v4;

	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if ((v4 = netaddr_embedded_v4(a)) != NULL) {
			memcpy(key, v4, 4);
			return 4;
		}
		memcpy(key, a->s6_addr, 8);
		return 8;
	}
	memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	return 4;
}

void
netaddr_source_name(const unsigned char *key, size_t len, char *out,
    size_t outlen)
{
	struct in6_addr a6;
	char host[INET6_ADDRSTRLEN];

	if (len == 4 && inet_ntop(AF_INET, key, host, sizeof(host)) != NULL) {
		snprintf(out, outlen, "%s", host);
		return;
	}
	memset(&a6, 0, sizeof(a6));
	memcpy(a6.s6_addr, key, len < 8 ? len : 8);
	if (len == 8 && inet_ntop(AF_INET6, &a6, host, sizeof(host)) != NULL)
		snprintf(out, outlen, "%s/64", host);
	else
		snprintf(out, outlen, "?");
}
