/*
 * libFuzzer target and property check: what the abuse limits count as
 * one source (netaddr_source).  An IPv4-mapped or NAT64 IPv6 address
 * must key as the IPv4 address inside it, the same key as that address
 * reaching an IPv4 listener; any other IPv6 address as its /64.  The
 * seeds (fuzz/corpus/netaddr) are the cases: a 16-byte input is an IPv6
 * address, a shorter one the first 4 bytes of an IPv4 address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

static void
check_v6(const uint8_t *data)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	unsigned char key[NETADDR_SOURCE_MAX], key4[NETADDR_SOURCE_MAX];
	size_t len;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	memcpy(&s6.sin6_addr, data, 16);
	len = netaddr_source((const struct sockaddr *)&s6, key);
	if (!IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr) && memcmp(data, nat64, 12)) {
		if (len != 8 || memcmp(key, data, 8) != 0)
			abort(); /* an IPv6 host counts as its /64 */
		return;
	}
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	memcpy(&s4.sin_addr, data + 12, 4);
	if (len != 4 ||
	    netaddr_source((const struct sockaddr *)&s4, key4) != 4 ||
	    memcmp(key, key4, 4) != 0)
		abort(); /* a mapped IPv4 client counts as that address */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in s4;
	unsigned char key[NETADDR_SOURCE_MAX];

	if (size >= 16) {
		check_v6(data);
		return 0;
	}
	if (size < 4)
		return 0;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	memcpy(&s4.sin_addr, data, 4);
	if (netaddr_source((const struct sockaddr *)&s4, key) != 4 ||
	    memcmp(key, data, 4) != 0)
		abort();
	return 0;
}
