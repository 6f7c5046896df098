/*
 * The contact point's webhook endpoint, as far as timing goes: it notes
 * when each alert's webhook arrived and answers 200.  The relay's
 * webhook names its alert_id; Alertmanager's lists alerts whose alert_id
 * label does (lg_am.c).  (Verifying the
 * signature and opening the box is alertctl receive's job, tested
 * elsewhere; here it would only measure Python or our own CPU.)
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "frame.h"
#include "lg.h"

static struct evhttp *lg_http;

/* Sample i's alert_id starts with i in 8 hex digits (lg_main.c). */
struct lg_sample *
lg_sample_find(struct lg *lg, const char *alert_id)
{
	char head[9];
	unsigned long i;

	if (alert_id == NULL || strlen(alert_id) != 32)
		return NULL;
	memcpy(head, alert_id, 8);
	head[8] = '\0';
	i = strtoul(head, NULL, 16);
	if (i >= lg->nsamples || strcmp(lg->samples[i].alert_id, alert_id) != 0)
		return NULL;
	return &lg->samples[i];
}

static void
lg_hook_seen(struct lg *lg, const char *alert_id, int64_t now)
{
	struct lg_sample *s = lg_sample_find(lg, alert_id);

	if (s != NULL && s->hook_us == 0) {
		s->hook_us = now;
		lg->nhooks++;
	}
}

static void
lg_hook_cb(struct evhttp_request *req, void *arg)
{
	struct lg *lg = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_t *o =
	    json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL);
	json_t *alerts = json_object_get(o, "alerts");
	int64_t now = lg_now_us();
	size_t i;

	lg_hook_seen(lg, json_str(o, "alert_id"), now);
	for (i = 0; i < json_array_size(alerts); i++)
		lg_hook_seen(lg,
		    json_str(json_object_get(json_array_get(alerts, i),
		                 "labels"),
		        "alert_id"),
		    now);
	json_decref(o);
	evhttp_send_reply(req, 200, "OK", NULL);
}

int
lg_hook_start(struct lg *lg, int port)
{
	lg_http = evhttp_new(lg->base);
	evhttp_set_gencb(lg_http, lg_hook_cb, lg);
	return evhttp_bind_socket(lg_http, "127.0.0.1", (ev_uint16_t)port);
}

void
lg_hook_stop(void)
{
	if (lg_http != NULL)
		evhttp_free(lg_http);
	lg_http = NULL;
}
