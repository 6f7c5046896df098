/*
 * The loadgen as Prometheus Alertmanager's client, so that Alertmanager
 * is timed on the same clock as the relay: alerts are POSTed to
 * /api/v2/alerts (one at a time, or a burst in batches of 100, as its
 * users' tools post them) and its webhook arrives at lg_hook.c's
 * endpoint.  An alert's alert_id label names its sample.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "lg.h"
#include "xmalloc.h"

#define LG_AM_CONNS 8 /* connections a burst's batches spread over */

struct lg_am_batch {
	struct lg *lg;
	size_t first, n; /* samples [first, first + n) */
	char *body;
};

static struct {
	struct evhttp_connection *conns[LG_AM_CONNS];
	struct lg_am_batch *batches;
	size_t nbatches, next_conn;
	int port;
} am;

int
lg_am_start(struct lg *lg, int port)
{
	int i;

	am.port = port;
	for (i = 0; i < LG_AM_CONNS; i++) {
		am.conns[i] = evhttp_connection_base_new(lg->base, NULL,
		    "127.0.0.1", (ev_uint16_t)port);
		if (am.conns[i] == NULL)
			return -1;
		evhttp_connection_set_timeout(am.conns[i], 60);
	}
	return 0;
}

/* A new sample, its alert_id made as lg_sample_find() reads it. */
static struct lg_sample *
lg_am_sample(struct lg *lg)
{
	struct lg_sample *s;

	if (lg->nsamples == lg->maxsamples)
		return NULL;
	s = &lg->samples[lg->nsamples];
	snprintf(s->alert_id, sizeof(s->alert_id), "%08zx%024x", lg->nsamples,
	    0xa1e47u);
	lg->nsamples++;
	return s;
}

static json_t *
lg_am_alert(const struct lg_sample *s)
{
	return json_pack("{s:{s:s, s:s, s:s}, s:{s:s}}", "labels", "alertname",
	    "BenchPanic", "alert_id", s->alert_id, "severity", "critical",
	    "annotations", "summary", "bench");
}

static void
lg_am_answer_cb(struct evhttp_request *req, void *arg)
{
	struct lg_am_batch *b = arg;
	int64_t now = lg_now_us();
	int ok =
	    req != NULL && evhttp_request_get_response_code(req) / 100 == 2;
	size_t i;

	for (i = b->first; i < b->first + b->n; i++) {
		if (ok && b->lg->samples[i].accepted_us == 0) {
			b->lg->samples[i].accepted_us = now;
			b->lg->naccepted++;
		} else if (!ok)
			b->lg->nrefused++;
	}
	if (b->n == 1) { /* one alone is not kept in am.batches */
		free(b->body);
		free(b);
	}
}

static void
lg_am_post(struct lg_am_batch *b)
{
	struct evhttp_connection *c = am.conns[am.next_conn++ % LG_AM_CONNS];
	struct evhttp_request *req = evhttp_request_new(lg_am_answer_cb, b);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Host", "127.0.0.1");
	evhttp_add_header(h, "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), b->body,
	    strlen(b->body));
	if (evhttp_make_request(c, req, EVHTTP_REQ_POST, "/api/v2/alerts") != 0)
		b->lg->nrefused += b->n;
}

static char *
lg_am_body(struct lg *lg, size_t first, size_t n)
{
	json_t *arr = json_array();
	char *body;
	size_t i;

	for (i = first; i < first + n; i++)
		json_array_append_new(arr, lg_am_alert(&lg->samples[i]));
	body = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return body;
}

int
lg_am_send_one(struct lg *lg)
{
	struct lg_sample *s = lg_am_sample(lg);
	struct lg_am_batch *b;

	if (s == NULL)
		return -1;
	s->sent_us = lg_now_us(); /* the press: before the request is made */
	b = xcalloc(1, sizeof(*b));
	b->lg = lg;
	b->first = (size_t)(s - lg->samples);
	b->n = 1;
	b->body = lg_am_body(lg, b->first, 1);
	lg_am_post(b);
	return 0;
}

size_t
lg_am_prepare_burst(struct lg *lg, size_t n, size_t per_batch)
{
	size_t first = lg->nsamples, made = 0, i;

	while (made < n && lg_am_sample(lg) != NULL)
		made++;
	am.nbatches = (made + per_batch - 1) / per_batch;
	am.batches = xcalloc(am.nbatches + 1, sizeof(*am.batches));
	for (i = 0; i < am.nbatches; i++) {
		struct lg_am_batch *b = &am.batches[i];

		b->lg = lg;
		b->first = first + i * per_batch;
		b->n = made - i * per_batch < per_batch ? made - i * per_batch
		                                        : per_batch;
		b->body = lg_am_body(lg, b->first, b->n);
	}
	return made;
}

void
lg_am_fire_burst(struct lg *lg)
{
	int64_t now = lg_now_us();
	size_t i, j;

	for (i = 0; i < am.nbatches; i++) {
		for (j = 0; j < am.batches[i].n; j++)
			lg->samples[am.batches[i].first + j].sent_us = now;
		if (am.batches[i].n > 1)
			lg_am_post(&am.batches[i]);
		else /* lg_am_answer_cb frees a batch of one */
			lg_am_post(memcpy(xcalloc(1, sizeof(am.batches[i])),
			    &am.batches[i], sizeof(am.batches[i])));
	}
}

void
lg_am_stop(void)
{
	size_t i;

	for (i = 0; i < LG_AM_CONNS; i++)
		if (am.conns[i] != NULL)
			evhttp_connection_free(am.conns[i]);
	for (i = 0; i < am.nbatches; i++)
		if (am.batches[i].n > 1)
			free(am.batches[i].body);
	free(am.batches);
	memset(&am, 0, sizeof(am));
}
