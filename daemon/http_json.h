/*
 * JSON answers on the daemon's HTTP listeners (the ack listener and the
 * admin listener): one compact JSON line as application/json.
 */
#ifndef ALERTRELAY_HTTP_JSON_H
#define ALERTRELAY_HTTP_JSON_H

#include <event2/http.h>
#include <jansson.h>

/* Sends o (a reference taken, may be NULL: "{}") with code and reason. */
void http_json_reply(struct evhttp_request *req, int code, const char *reason,
    json_t *o);
/* The admin listener's refusal: {"ok":false,"error":error}. */
void http_json_refuse(struct evhttp_request *req, int code, const char *reason,
    const char *error);

#endif
