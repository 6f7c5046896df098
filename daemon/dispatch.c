/*
 * The dispatcher: reads deliveries from the Redis consumer group (and
 * takes over those another instance left), hands each to delivery.c,
 * and offers the first deliveries of an alert accepted here the alert
 * from memory (dispatch_fresh.h).
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch_int.h"
#include "evtimer_ms.h"
#include "log.h"
#include "relay.h"
#include "stage_metrics.h"
#include "store.h"
#include "strindex.h"
#include "xmalloc.h"

#define READ_COUNT 100
/* XAUTOCLAIM calls per claim round: Redis looks at no more than
 * count * 10 pending entries a call, so one round looks at up to
 * 10,000 (or to the end of the pending list, whichever comes first). */
#define CLAIM_PAGES 10
#define READ_BLOCK_MS 5000
/* Buckets of the index of deliveries in flight by stream id. */
#define DISPATCH_INDEX_BUCKETS 16384

static int
dispatch_has(const struct dispatch *d, const char *stream_id)
{
	return strindex_first(d->by_stream, stream_id) != NULL;
}

void
dispatch_add_local(struct dispatch *d, const struct delivery_entry *e,
    json_t *meta, dispatch_local_cb done, void *arg)
{
	struct delivery *dl = delivery_new(d, e);

	dl->local_meta = json_incref(meta);
	dl->local_done = done;
	dl->local_arg = arg;
	dl->state = D_FETCH;
	delivery_step(dl);
}

/* The first tier of an alert accepted here a moment ago: the alert as it
 * was accepted, or a wait for the ingest's answer.  1: parked. */
static int
dispatch_add_fresh(struct dispatch *d, struct delivery *dl)
{
	switch (fresh_lookup(d->fresh, dl->e.alert_id, dl->e.recipient_id,
	    &dl->fresh_meta)) {
	case FRESH_READY:
	case FRESH_NONE:
		return 0;
	case FRESH_PENDING:
		break;
	}
	dl->parked = 1;
	fresh_park(d->fresh, dl->e.alert_id, dl->e.stream_id,
	    dl->e.recipient_id);
	return 1;
}

static void
dispatch_fresh_release(const char *stream_id, json_t *meta, void *arg)
{
	struct dispatch *d = arg;
	struct strlink *l = strindex_first(d->by_stream, stream_id);
	struct delivery *dl = l != NULL ? l->owner : NULL;

	if (dl == NULL || !dl->parked) {
		json_decref(meta); /* gone meanwhile (shutdown) */
		return;
	}
	dl->parked = 0;
	dl->fresh_meta = meta;
	delivery_step(dl);
}

static void
dispatch_fresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *d = arg;

	(void)fd;
	(void)what;
	fresh_expire(d->fresh, monotonic_ms());
}

void
dispatch_fresh_expect(struct dispatch *d, const char *alert_id)
{
	if (d != NULL && !d->draining)
		fresh_expect(d->fresh, alert_id);
}

void
dispatch_fresh_ready(struct dispatch *d, const char *alert_id, json_t *base,
    json_t *cts)
{
	if (d != NULL)
		fresh_ready(d->fresh, alert_id, base, cts);
}

void
dispatch_fresh_forget(struct dispatch *d, const char *alert_id)
{
	if (d != NULL)
		fresh_forget(d->fresh, alert_id);
}

static void
dispatch_add(struct dispatch *d, const struct delivery_entry *e)
{
	struct delivery *dl;

	if (dispatch_has(d, e->stream_id))
		return; /* already in flight here */
	dl = delivery_new(d, e);
	if (!e->valid) {
		delivery_drop(dl, "malformed delivery entry");
		return;
	}
	dl->state = D_FETCH;
	if (strcmp(e->event, "alert.raised") == 0 && !e->replay) {
		stage_delivery_read(e->alert_id);
		dl->stage_ns = stage_now();
		if (strcmp(e->tier, "0") == 0 && dispatch_add_fresh(d, dl))
			return; /* parked until the ingest's answer */
	}
	delivery_step(dl);
}

/* --- reading the stream --- */

/*
 * How many more deliveries may be read.  Those that wait for a retry
 * (a receiver down, for hours maybe) are bounded apart (delivery_wait):
 * counted here they would, once max_inflight of them waited, keep every
 * new alert's first tier, to healthy receivers too, from being read.
 */
static long
dispatch_room(const struct dispatch *d)
{
	return d->relay->cfg->max_inflight - (long)(d->ninflight - d->nretry);
}

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

void
dispatch_read(struct dispatch *d)
{
	long room;

	if (!d->running || d->draining || d->read_req != NULL ||
	    evtimer_pending(d->restart_ev, NULL))
		return;
	room = dispatch_room(d);
	if (room <= 0)
		return; /* resumed when a delivery finishes or waits */
	if (room > READ_COUNT)
		room = READ_COUNT;
	d->read_req =
	    store_read_deliveries(d->relay->store, d->from[0] ? d->from : ">",
	        room, READ_BLOCK_MS, dispatch_read_cb, d);
}

/* --- several instances --- */

static long
dispatch_claim_interval(const struct dispatch *d)
{
	return d->relay->cfg->claim_idle_ms / 3;
}

static void dispatch_claim(struct dispatch *d);

static void
dispatch_claim_cb(struct delivery_entry *entries, size_t n, const char *next,
    const char *err, void *arg)
{
	struct dispatch *d = arg;
	size_t i;

	d->claim_req = NULL;
	if (err != NULL)
		log_debug("taking over stale deliveries: %s", err);
	for (i = 0; i < n && !d->draining; i++)
		if (!dispatch_has(d, entries[i].stream_id)) {
			log_info("delivery alert=%s recipient=%s channel=%s "
			         "taken over from a silent instance (or from "
			         "waiting in redis)",
			    entries[i].alert_id, entries[i].recipient_id,
			    entries[i].channel);
			dispatch_add(d, &entries[i]);
		}
	/* Where the next call goes on: from the start only once Redis
	 * came round, or else live entries ahead of a dead instance's
	 * would hide them for ever. */
	if (next != NULL)
		snprintf(d->claim_from, sizeof(d->claim_from), "%s", next);
	if (next != NULL && strcmp(next, "0-0") != 0 &&
	    d->claim_pages < CLAIM_PAGES) {
		dispatch_claim(d);
		return;
	}
	evtimer_add_ms(d->claim_ev, dispatch_claim_interval(d));
}

/* Takes over what was left idle, in up to half the room for reading:
 * new deliveries keep the other half. */
static void
dispatch_claim(struct dispatch *d)
{
	long count = (dispatch_room(d) + 1) / 2;

	if (!d->running || d->draining || count <= 0) {
		evtimer_add_ms(d->claim_ev, dispatch_claim_interval(d));
		return;
	}
	if (count > READ_COUNT)
		count = READ_COUNT;
	d->claim_pages++;
	d->claim_req = store_claim_stale(d->relay->store, d->claim_from,
	    d->relay->cfg->claim_idle_ms, count, dispatch_claim_cb, d);
}

/*
 * Every few seconds: tell the group that what we hold is alive, then
 * take over what was left idle too long: by another instance that died,
 * or by this one (delivery_wait).
 */
static void
dispatch_claim_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *d = arg;
	struct delivery *dl;
	const char **ids;
	size_t n = 0;

	(void)fd;
	(void)what;
	if (!d->running || d->draining) {
		evtimer_add_ms(d->claim_ev, dispatch_claim_interval(d));
		return;
	}
	if (d->ninflight > 0) {
		ids = xcalloc(d->ninflight, sizeof(*ids));
		TAILQ_FOREACH(dl, &d->deliveries, entry)
		ids[n++] = dl->e.stream_id;
		store_touch(d->relay->store, ids, n);
		free(ids);
	}
	d->claim_pages = 0;
	dispatch_claim(d);
}

void
dispatch_check_drained(struct dispatch *d)
{
	void (*cb)(void *) = d->drained;

	if (d->ninflight > 0 || cb == NULL)
		return;
	d->drained = NULL;
	cb(d->drained_arg);
}

void
dispatch_drain(struct dispatch *d, void (*drained)(void *), void *arg)
{
	struct delivery *dl, *next;

	d->draining = 1;
	d->drained = drained;
	d->drained_arg = arg;
	store_req_cancel(d->read_req);
	d->read_req = NULL;
	store_req_cancel(d->claim_req);
	d->claim_req = NULL;
	/* Those waiting for a retry go back now; those in flight finish. */
	for (dl = TAILQ_FIRST(&d->deliveries); dl != NULL; dl = next) {
		next = TAILQ_NEXT(dl, entry);
		if (evtimer_pending(dl->timer, NULL) || dl->parked)
			delivery_free(dl);
	}
	dispatch_check_drained(d);
}

struct dispatch *
dispatch_new(struct relay *relay)
{
	struct dispatch *d = xcalloc(1, sizeof(*d));

	d->relay = relay;
	d->restart_ev = evtimer_new(relay->base, dispatch_restart_cb, d);
	d->claim_ev = evtimer_new(relay->base, dispatch_claim_timer_cb, d);
	snprintf(d->claim_from, sizeof(d->claim_from), "0-0");
	evtimer_add_ms(d->claim_ev, dispatch_claim_interval(d));
	TAILQ_INIT(&d->deliveries);
	d->by_stream = strindex_new(DISPATCH_INDEX_BUCKETS);
	d->fresh = fresh_new(dispatch_fresh_release, d);
	d->fresh_ev =
	    event_new(relay->base, -1, EV_PERSIST, dispatch_fresh_cb, d);
	evtimer_add_ms(d->fresh_ev, FRESH_TTL_MS / 2);
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
	d->draining = 1;
	d->drained = NULL;
	store_req_cancel(d->claim_req);
	while (!TAILQ_EMPTY(&d->deliveries))
		delivery_free(TAILQ_FIRST(&d->deliveries));
	event_free(d->restart_ev);
	event_free(d->claim_ev);
	event_free(d->fresh_ev);
	fresh_free(d->fresh);
	strindex_free(d->by_stream);
	free(d);
}
