/*
 * The reconnect storm: every connected device is dropped at once and
 * reconnects at once, as after a network outage (up to
 * LG_STORM_CONCURRENT handshakes in flight on the loadgen's side).  Meanwhile a
 * few witness devices, connected before the drop from a thread of their own
 * (its own event loop and TLS context, so the loadgen's busy loop does not
 * delay what they see), press alerts.  Measured: the time until every dropped
 * device is authenticated again, and each witness's press to accepted.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lg.h"
#include "tls.h"
#include "xmalloc.h"

/* When each witness presses, after the drop (ms). */
static const int64_t lg_storm_press_ms[LG_STORM_WITNESSES] = {100, 300, 600,
    1000, 2000};

/* The witnesses' thread: connect, say so, press on time, say done. */
static void
lg_storm_witness_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lg_storm *st = arg;
	struct lg *w = &st->w;
	int64_t now = lg_now_us(), start;
	size_t i;

	(void)fd;
	(void)what;
	if (!__atomic_load_n(&st->w_ready, __ATOMIC_ACQUIRE) &&
	    w->nready == w->ndevices) {
		for (i = 0; i < w->ndevices; i++)
			lg_device_prepare(&w->devices[i]);
		__atomic_store_n(&st->w_ready, 1, __ATOMIC_RELEASE);
	}
	start = __atomic_load_n(&st->start_us, __ATOMIC_ACQUIRE);
	while (start != 0 && st->pressed < w->ndevices &&
	    now - start >= lg_storm_press_ms[st->pressed] * 1000) {
		st->press_during[st->pressed] =
		    __atomic_load_n(&st->done_us, __ATOMIC_ACQUIRE) == 0;
		lg_device_fire(&w->devices[st->pressed], 1);
		st->pressed++;
	}
	if ((st->pressed == w->ndevices &&
	        w->naccepted + w->nrefused >= w->ndevices) ||
	    __atomic_load_n(&st->stop, __ATOMIC_ACQUIRE))
		event_base_loopexit(w->base, NULL);
}

static void *
lg_storm_witness_main(void *arg)
{
	struct lg_storm *st = arg;
	struct lg *w = &st->w;
	struct timeval ms = {0, 1000};
	struct event *tick;
	char src[32];
	size_t i;

	for (i = 0; i < w->ndevices; i++) {
		snprintf(src, sizeof(src), "127.0.250.%zu", 1 + i);
		lg_device_connect(&w->devices[i], src);
	}
	tick = event_new(w->base, -1, EV_PERSIST, lg_storm_witness_tick, st);
	event_add(tick, &ms);
	event_base_dispatch(w->base);
	event_free(tick);
	for (i = 0; i < w->ndevices; i++)
		lg_device_close(&w->devices[i]);
	__atomic_store_n(&st->w_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int
lg_storm_prepare(struct lg *lg, struct lg_storm *st)
{
	struct lg *w = &st->w;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char err[256];
	size_t i;

	memset(st, 0, sizeof(*st));
	w->base = event_base_new();
	if ((w->ssl = tls_client_ctx(err, sizeof(err))) == NULL) {
		fprintf(stderr, "loadgen: %s\n", err);
		return -1;
	}
	w->port = lg->port;
	memcpy(w->seed, lg->seed, sizeof(w->seed));
	memcpy(w->rpk, lg->rpk, sizeof(w->rpk));
	w->ndevices = LG_STORM_WITNESSES;
	w->devices = xcalloc(w->ndevices, sizeof(*w->devices));
	/* Second sessions of the first devices: same ids, same keys. */
	for (i = 0; i < w->ndevices; i++) {
		w->devices[i].lg = w;
		snprintf(w->devices[i].id, sizeof(w->devices[i].id),
		    "bench-%05zu", i);
		lg_device_keys(w->seed, i, pk, w->devices[i].sk);
	}
	w->maxsamples = w->ndevices;
	w->samples = xcalloc(w->maxsamples + 1, sizeof(*w->samples));
	if (pthread_create(&st->thread, NULL, lg_storm_witness_main, st) != 0)
		return -1;
	st->started = 1;
	return 0;
}

int
lg_storm_witnesses_ready(struct lg_storm *st)
{
	return __atomic_load_n(&st->w_ready, __ATOMIC_ACQUIRE);
}

static void
lg_storm_connect(struct lg_device *d, size_t i, size_t sources)
{
	char src[32];

	snprintf(src, sizeof(src), "127.0.%zu.%zu", 1 + (i % sources) / 250,
	    1 + (i % sources) % 250);
	lg_device_connect(d, src);
}

/* All at once, up to LG_STORM_CONCURRENT handshakes in flight on this
 * side (lg.h says why). */
static void
lg_storm_connect_more(struct lg *lg, struct lg_storm *st, size_t sources)
{
	struct lg_device *d;

	while (
	    st->next < lg->ndevices && lg->connecting < LG_STORM_CONCURRENT) {
		d = &lg->devices[st->next];
		if (!d->ready && !d->failed)
			lg_storm_connect(d, st->next, sources);
		st->next++;
	}
}

size_t
lg_storm_begin(struct lg *lg, struct lg_storm *st, size_t sources)
{
	struct lg_device *d;
	size_t i;

	st->failed_before = lg->nfailed;
	for (i = 0; i < lg->ndevices; i++) {
		d = &lg->devices[i];
		if (!d->ready)
			continue;
		/* Dropped on purpose: not a failure, it comes back. */
		lg_device_close(d);
		d->ready = 0;
		d->in_flight = 0;
		lg->nready--;
		st->dropped++;
	}
	__atomic_store_n(&st->start_us, lg_now_us(), __ATOMIC_RELEASE);
	st->next = 0;
	lg_storm_connect_more(lg, st, sources);
	return st->dropped;
}

/* A device refused or cut off during the storm tries again after
 * LG_STORM_RETRY_MS, as a real one does (the relay may refuse while it
 * still holds the dropped connections it has not yet seen close). */
static void
lg_storm_retry(struct lg *lg, struct lg_storm *st, int64_t now, size_t sources)
{
	struct lg_device *d;
	size_t i;

	lg_storm_connect_more(lg, st, sources);
	if (now - st->retry_scan_us < 100000)
		return;
	st->retry_scan_us = now;
	for (i = 0; i < lg->ndevices && lg->connecting < LG_STORM_CONCURRENT;
	     i++) {
		d = &lg->devices[i];
		if (!d->failed || now - d->failed_us < LG_STORM_RETRY_MS * 1000)
			continue;
		d->failed = 0;
		lg->nfailed--;
		st->retries++;
		lg_device_close(d);
		lg_storm_connect(d, i, sources);
	}
}

int
lg_storm_tick(struct lg *lg, struct lg_storm *st, int64_t now, size_t sources)
{
	int64_t start = __atomic_load_n(&st->start_us, __ATOMIC_ACQUIRE);

	if (__atomic_load_n(&st->done_us, __ATOMIC_ACQUIRE) == 0)
		lg_storm_retry(lg, st, now, sources);
	if (__atomic_load_n(&st->done_us, __ATOMIC_ACQUIRE) == 0 &&
	    lg->nready >= st->dropped)
		__atomic_store_n(&st->done_us, now, __ATOMIC_RELEASE);
	if (now - start > (int64_t)LG_STORM_S * 1000000)
		__atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
	if (!__atomic_load_n(&st->w_done, __ATOMIC_ACQUIRE))
		return 0;
	return st->done_us != 0 || st->stop;
}

void
lg_storm_end(struct lg_storm *st)
{
	if (!st->started)
		return;
	__atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
	pthread_join(st->thread, NULL);
	st->started = 0;
}

json_t *
lg_storm_report(const struct lg *lg, const struct lg_storm *st)
{
	json_t *o = json_object(), *presses = json_array(), *p;
	double worst = -1, ms;
	size_t i;

	json_object_set_new(o, "dropped",
	    json_integer((json_int_t)st->dropped));
	json_object_set_new(o, "reconnected",
	    json_integer((json_int_t)lg->nready));
	json_object_set_new(o, "failed",
	    json_integer((json_int_t)(lg->nfailed - st->failed_before)));
	json_object_set_new(o, "retries",
	    json_integer((json_int_t)st->retries));
	json_object_set_new(o, "seconds",
	    st->done_us ? json_real((st->done_us - st->start_us) / 1e6)
	                : json_null());
	for (i = 0; i < st->pressed; i++) {
		const struct lg_sample *s = &st->w.samples[i];

		ms = s->accepted_us ? (s->accepted_us - s->sent_us) / 1000.0
		                    : -1;
		p = json_pack("{s:f, s:b}", "at_s",
		    (s->sent_us - st->start_us) / 1e6, "during",
		    st->press_during[i]);
		json_object_set_new(p, "accepted_ms",
		    ms >= 0 ? json_real(ms) : json_null());
		json_array_append_new(presses, p);
		if (ms < 0)
			worst = 1e9;
		else if (ms > worst && worst < 1e9)
			worst = ms;
	}
	json_object_set_new(o, "presses", presses);
	json_object_set_new(o, "max_accepted_ms",
	    worst >= 0 && worst < 1e9 ? json_real(worst) : json_null());
	return o;
}
