#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dispatch.h"
#include "http_client.h"
#include "evtimer_ms.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "store.h"
#include "webhook.h"
#include "xmalloc.h"

#define READ_COUNT 100
#define READ_BLOCK_MS 5000
#define RESTART_MS 1000
#define DONE_RETRY_MS 1000

enum delivery_state {
	D_FETCH, /* reading the alert's metadata and ciphertext */
	D_POST, /* request in flight, or waiting to retry it */
	D_DONE, /* delivered; recording that in Redis */
	D_DROP, /* cannot be made; removing it from the stream */
};

struct delivery {
	TAILQ_ENTRY(delivery) entry;
	struct dispatch *d;
	struct delivery_entry e;
	enum delivery_state state;
	int attempt;
	char webhook_id[WEBHOOK_ID_LEN];
	char *body;
	size_t bodylen;
	struct event *timer;
	struct store_req *sreq;
	struct http_req *hreq;
};

struct dispatch {
	struct relay *relay;
	int running;
	char from[STORE_ID_MAX]; /* pending-history cursor; "" when live */
	struct store_req *read_req;
	struct event *restart_ev;
	TAILQ_HEAD(, delivery) deliveries;
	size_t ninflight;
};

static void dispatch_read(struct dispatch *d);
static void delivery_step(struct delivery *dl);

/* --- one delivery --- */

static void
delivery_free(struct delivery *dl)
{
	struct dispatch *d = dl->d;

	TAILQ_REMOVE(&d->deliveries, dl, entry);
	d->ninflight--;
	metrics.deliveries_inflight = d->ninflight;
	store_req_cancel(dl->sreq);
	http_req_cancel(dl->hreq);
	event_free(dl->timer);
	free(dl->body);
	free(dl);
	/* Room again for more work. */
	dispatch_read(d);
}

static void
delivery_later(struct delivery *dl, long ms)
{
	evtimer_add_ms(dl->timer, ms);
}

/* Exponential backoff with +-20% jitter, so a recovering endpoint is not
 * hit by every delivery at the same instant. */
static long
delivery_backoff_ms(const struct delivery *dl)
{
	const struct relay_config *cfg = dl->d->relay->cfg;
	long ms = cfg->retry_initial_ms;
	int i;

	for (i = 1; i < dl->attempt && ms < cfg->retry_max_ms; i++)
		ms *= 2;
	if (ms > cfg->retry_max_ms)
		ms = cfg->retry_max_ms;
	return ms * 8 / 10 +
	    (long)randombytes_uniform((uint32_t)(ms * 4 / 10 + 1));
}

static void
delivery_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	delivery_step(arg);
}

static void
delivery_stored_cb(const char *err, void *arg)
{
	struct delivery *dl = arg;

	dl->sreq = NULL;
	if (err != NULL) {
		/* Delivered but not yet recorded: keep trying; a crash now
		 * means one duplicate with the same webhook-id. */
		log_warnx("delivery alert=%s recipient=%s: recording result: "
		          "%s",
		    dl->e.alert_id, dl->e.recipient_id, err);
		delivery_later(dl, DONE_RETRY_MS);
		return;
	}
	delivery_free(dl);
}

static void
delivery_drop(struct delivery *dl, const char *why)
{
	log_warnx("delivery alert=%s recipient=%s dropped: %s",
	    dl->e.alert_id[0] ? dl->e.alert_id : "-",
	    dl->e.recipient_id[0] ? dl->e.recipient_id : "-", why);
	metrics.webhook[DELIVERY_DROPPED]++;
	dl->state = D_DROP;
	delivery_step(dl);
}

/* The delivery entry was added when the alert was accepted; its stream
 * id starts with that time in milliseconds. */
static int64_t
delivery_age_ms(const struct delivery *dl)
{
	return now_ms() - strtoll(dl->e.stream_id, NULL, 10);
}

static void
delivery_posted_cb(long status, const char *error, void *arg)
{
	struct delivery *dl = arg;
	long latency = (long)delivery_age_ms(dl);

	dl->hreq = NULL;
	if (status >= 200 && status < 300) {
		log_info("delivery alert=%s recipient=%s channel=webhook "
		         "result=ok status=%ld attempt=%d latency_ms=%ld",
		    dl->e.alert_id, dl->e.recipient_id, status, dl->attempt,
		    latency);
		metrics.webhook[DELIVERY_OK]++;
		metrics_delivery_latency(delivery_age_ms(dl) / 1000.0);
		dl->state = D_DONE;
		delivery_step(dl);
		return;
	}
	metrics.webhook[DELIVERY_RETRY]++;
	log_warnx("delivery alert=%s recipient=%s channel=webhook "
	          "result=retry status=%ld attempt=%d error=\"%s\"",
	    dl->e.alert_id, dl->e.recipient_id, status, dl->attempt,
	    error ? error : "non-2xx answer");
	delivery_later(dl, delivery_backoff_ms(dl));
}

static void
delivery_post(struct delivery *dl)
{
	const struct recipient_entry *r;
	struct http_post_args a;
	char *headers[WEBHOOK_NHEADERS];

	/* Looked up on every attempt: a reload may have changed it. */
	r = relay_config_recipient(dl->d->relay->cfg, dl->e.recipient_id);
	if (r == NULL || r->webhook_url == NULL) {
		delivery_drop(dl, "recipient has no webhook any more");
		return;
	}
	dl->attempt++;
	webhook_headers(r, dl->webhook_id, dl->body, dl->bodylen, headers);
	memset(&a, 0, sizeof(a));
	a.url = r->webhook_url;
	a.headers = (const char *const *)headers;
	a.nheaders = WEBHOOK_NHEADERS;
	a.body = dl->body;
	a.bodylen = dl->bodylen;
	a.connect_timeout_ms = dl->d->relay->cfg->connect_timeout * 1000;
	a.timeout_ms = dl->d->relay->cfg->request_timeout * 1000;
	dl->hreq = http_post(dl->d->relay->http, &a, delivery_posted_cb, dl);
	webhook_headers_free(headers);
}

static void
delivery_meta_cb(struct alert_meta *m, const char *err, void *arg)
{
	struct delivery *dl = arg;

	dl->sreq = NULL;
	if (m == NULL) {
		log_warnx("delivery alert=%s: reading alert: %s",
		    dl->e.alert_id, err);
		delivery_later(dl, RESTART_MS);
		return;
	}
	if (!m->exists || m->ciphertext == NULL) {
		delivery_drop(dl, "alert or its ciphertext is gone");
		return;
	}
	if (m->delivered) {
		/* Made before a crash, not yet acknowledged in the group. */
		dl->state = D_DONE;
		delivery_step(dl);
		return;
	}
	dl->body =
	    webhook_body(dl->e.event, dl->e.alert_id, m, dl->e.recipient_id);
	if (dl->body == NULL) {
		delivery_drop(dl, "cannot encode the webhook body");
		return;
	}
	dl->bodylen = strlen(dl->body);
	dl->state = D_POST;
	delivery_post(dl);
}

static void
delivery_step(struct delivery *dl)
{
	struct store *st = dl->d->relay->store;

	switch (dl->state) {
	case D_FETCH:
		dl->sreq = store_alert_meta(st, dl->e.alert_id,
		    dl->e.recipient_id, delivery_meta_cb, dl);
		break;
	case D_POST:
		delivery_post(dl);
		break;
	case D_DONE:
		dl->sreq = store_delivery_done(st, dl->e.stream_id,
		    dl->e.alert_id, dl->e.recipient_id, delivery_stored_cb, dl);
		break;
	case D_DROP:
		dl->sreq = store_delivery_drop(st, dl->e.stream_id,
		    delivery_stored_cb, dl);
		break;
	}
}

static int
dispatch_has(const struct dispatch *d, const char *stream_id)
{
	const struct delivery *dl;

	TAILQ_FOREACH(dl, &d->deliveries, entry)
	if (strcmp(dl->e.stream_id, stream_id) == 0)
		return 1;
	return 0;
}

static void
dispatch_add(struct dispatch *d, const struct delivery_entry *e)
{
	struct delivery *dl;

	if (dispatch_has(d, e->stream_id))
		return; /* already in flight here */
	dl = xcalloc(1, sizeof(*dl));
	dl->d = d;
	dl->e = *e;
	dl->timer = evtimer_new(d->relay->base, delivery_timer_cb, dl);
	TAILQ_INSERT_TAIL(&d->deliveries, dl, entry);
	d->ninflight++;
	metrics.deliveries_inflight = d->ninflight;
	if (!e->valid) {
		delivery_drop(dl, "malformed delivery entry");
		return;
	}
	webhook_id(e->event, e->alert_id, e->recipient_id, dl->webhook_id);
	dl->state = D_FETCH;
	delivery_step(dl);
}

/* --- reading the stream --- */

static void
dispatch_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *d = arg;

	(void)fd;
	(void)what;
	snprintf(d->from, sizeof(d->from), "0");
	dispatch_read(d);
}

static void
dispatch_read_cb(struct delivery_entry *entries, size_t n, const char *err,
    void *arg)
{
	struct dispatch *d = arg;
	struct timeval tv = {RESTART_MS / 1000, 0};
	size_t i;

	d->read_req = NULL;
	if (err != NULL) {
		if (d->running) {
			log_warnx("reading deliveries: %s", err);
			evtimer_add(d->restart_ev, &tv);
		}
		return;
	}
	for (i = 0; i < n; i++)
		dispatch_add(d, &entries[i]);
	if (d->from[0] != '\0') {
		/* Paging through our pending history, then going live. */
		if (n == 0)
			d->from[0] = '\0';
		else
			snprintf(d->from, sizeof(d->from), "%s",
			    entries[n - 1].stream_id);
	}
	dispatch_read(d);
}

static void
dispatch_read(struct dispatch *d)
{
	long room;

	if (!d->running || d->read_req != NULL ||
	    evtimer_pending(d->restart_ev, NULL))
		return;
	room = d->relay->cfg->max_inflight - (long)d->ninflight;
	if (room <= 0)
		return; /* resumed when a delivery finishes */
	if (room > READ_COUNT)
		room = READ_COUNT;
	d->read_req =
	    store_read_deliveries(d->relay->store, d->from[0] ? d->from : ">",
	        room, READ_BLOCK_MS, dispatch_read_cb, d);
}

struct dispatch *
dispatch_new(struct relay *relay)
{
	struct dispatch *d = xcalloc(1, sizeof(*d));

	d->relay = relay;
	d->restart_ev = evtimer_new(relay->base, dispatch_restart_cb, d);
	TAILQ_INIT(&d->deliveries);
	return d;
}

void
dispatch_start(struct dispatch *d)
{
	if (d->running)
		return;
	d->running = 1;
	/* First what this instance had taken but not finished. */
	snprintf(d->from, sizeof(d->from), "0");
	dispatch_read(d);
}

void
dispatch_pause(struct dispatch *d)
{
	d->running = 0;
	store_req_cancel(d->read_req);
	d->read_req = NULL;
	evtimer_del(d->restart_ev);
}

size_t
dispatch_inflight(const struct dispatch *d)
{
	return d->ninflight;
}

void
dispatch_free(struct dispatch *d)
{
	if (d == NULL)
		return;
	dispatch_pause(d);
	while (!TAILQ_EMPTY(&d->deliveries))
		delivery_free(TAILQ_FIRST(&d->deliveries));
	event_free(d->restart_ev);
	free(d);
}
