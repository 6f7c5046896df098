/*
 * Who the admin listener answers, as pure functions (fuzzed by
 * fuzz/fuzz_ack_request.c): a Host header naming the listener itself
 * (http_host.h); and, for requests that change state (POST /reload),
 * the token of [admin] token_file as "Authorization: Bearer TOKEN".
 */
#ifndef ALERTRELAY_ADMIN_AUTH_H
#define ALERTRELAY_ADMIN_AUTH_H

/* 1 when authorization is "Bearer <token>" with exactly token (compared
 * in constant time); 0 when not, or when token is NULL (none set). */
int admin_auth_token(const char *authorization, const char *token);

#endif
