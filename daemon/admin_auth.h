/*
 * Who the admin listener answers, as pure functions (fuzzed by
 * fuzz/fuzz_ack_request.c): a Host header naming the listener itself
 * (its numeric address or "localhost", with its port or none), so that
 * a web page whose name was rebound to 127.0.0.1 (DNS rebinding) gets
 * nothing; and, for requests that change state (POST /reload), the
 * token of [admin] token_file as "Authorization: Bearer TOKEN".
 */
#ifndef ALERTRELAY_ADMIN_AUTH_H
#define ALERTRELAY_ADMIN_AUTH_H

#include <sys/socket.h>

/* 1 when host (the Host header, may be NULL) names local, the address
 * the request came in on. */
int admin_auth_host(const char *host, const struct sockaddr *local);

/* 1 when authorization is "Bearer <token>" with exactly token (compared
 * in constant time); 0 when not, or when token is NULL (none set). */
int admin_auth_token(const char *authorization, const char *token);

#endif
