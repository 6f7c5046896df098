/* Numeric socket addresses from the configuration ("127.0.0.1:7443",
 * "[::1]:7443"): names are refused, since resolving them blocks. */
#ifndef ALERTRELAY_NETADDR_H
#define ALERTRELAY_NETADDR_H

#include <sys/socket.h>

#include <stddef.h>

/* 0 when s is a numeric address with a port (1..65535). */
int netaddr_parse(const char *s, struct sockaddr_storage *ss, int *len);
int netaddr_is_loopback(const struct sockaddr_storage *ss);

/* What the abuse limits count as one source: an IPv4 address, or an
 * IPv6 /64 (one host has many addresses in it).  An IPv4-mapped or
 * NAT64 (64:ff9b::/96) IPv6 address counts as the IPv4 address inside
 * it, so a dual-stack listener keeps IPv4 clients apart and counts each
 * with the same client reaching a plain IPv4 listener. */
#define NETADDR_SOURCE_MAX 8
size_t netaddr_source(const struct sockaddr *sa,
    unsigned char key[NETADDR_SOURCE_MAX]);
/* Such a source for people: "192.0.2.7" or "2001:db8:1:2::/64". */
#define NETADDR_SOURCE_NAME 48
void netaddr_source_name(const unsigned char *key, size_t len, char *out,
    size_t outlen);

#endif
