/* JSON answers on the daemon's HTTP listeners (http_json.h). */
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "http_json.h"

void
http_json_reply(struct evhttp_request *req, int code, const char *reason,
    json_t *o)
{
	struct evbuffer *body = evbuffer_new();
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	evbuffer_add_printf(body, "%s\n", text != NULL ? text : "{}");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
	free(text);
	json_decref(o);
}

void
http_json_refuse(struct evhttp_request *req, int code, const char *reason,
    const char *error)
{
	http_json_reply(req, code, reason,
	    json_pack("{s:b, s:s}", "ok", 0, "error", error));
}
