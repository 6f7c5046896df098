/*
 * alertrelay_stage_seconds: per-stage histograms of an alert's time in
 * the relay (stage_metrics.h).  Buckets from 50 us: a whole alert takes
 * about a millisecond here, so the stages need sub-millisecond bounds;
 * a burst queues for hundreds of milliseconds, so those are split too (a
 * quantile is interpolated within its bucket: one from 0.25 to 1 s put
 * a p99 of about 0.3 s near 0.95 s; one from 1 to 2.5 ms put the single
 * alert's store p99 at 2.4 ms in every run, whatever it was, and one
 * from 0.1 to 0.25 ms its verify p99 at 0.25 ms).
 */
#include <time.h>

#include "stage_metrics.h"

/* Alerts between the store's answer and the dispatcher's read, by a
 * hash of their alert_id: 16 bytes each, 256 KiB in all, enough that
 * even a burst of thousands rarely collides (a collision loses one
 * sample, never an alert). */
#define STAGE_MARKS 16384

static const double stage_bounds[] = {0.00005, 0.0001, 0.00015, 0.0002, 0.00025,
    0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.15, 0.2, 0.25, 0.5, 0.75, 1, 2.5, 5};
#define STAGE_NBUCKETS (sizeof(stage_bounds) / sizeof(stage_bounds[0]))

static const char *const stage_names[STAGE_N] = {"verify", "store", "reply",
    "dispatch_read", "webhook_sent", "webhook_2xx"};

static struct {
	uint64_t buckets[STAGE_NBUCKETS]; /* not cumulative; the rest: +Inf */
	uint64_t count;
	int64_t sum_ns;
} stages[STAGE_N];

/* Who came first for an alert: the store's answer (its time) or the
 * dispatcher (read early, time 0 counts). */
static struct {
	uint64_t key; /* the alert_id's hash, odd; 0: empty */
	int64_t answered_ns; /* 0: the dispatcher read it first */
} marks[STAGE_MARKS];

int64_t
stage_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
stage_add(enum stage s, int64_t ns)
{
	double sec = ns / 1e9;
	size_t i;

	if (ns < 0)
		ns = 0;
	for (i = 0; i < STAGE_NBUCKETS; i++)
		if (sec <= stage_bounds[i]) {
			stages[s].buckets[i]++;
			break;
		}
	stages[s].count++;
	stages[s].sum_ns += ns;
}

int64_t
stage_observe(enum stage s, int64_t since)
{
	int64_t now = stage_now();

	if (since != 0)
		stage_add(s, now - since);
	return now;
}

/* FNV-1a, 64 bits: a few bytes of hex, evenly spread. */
static uint64_t
stage_key(const char *alert_id)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; alert_id[i] != '\0' && i < 32; i++)
		h = (h ^ (unsigned char)alert_id[i]) * 1099511628211ull;
	return h | 1;
}

void
stage_answered(const char *alert_id, int64_t now)
{
	uint64_t key = stage_key(alert_id);
	unsigned k = (unsigned)(key >> 32) % STAGE_MARKS;

	if (marks[k].key == key && marks[k].answered_ns == 0)
		stage_add(STAGE_DISPATCH_READ, 0); /* read before the answer */
	marks[k].key = key;
	marks[k].answered_ns = now;
}

/* Every delivery of the alert (one per recipient and channel) counts. */
void
stage_delivery_read(const char *alert_id)
{
	uint64_t key = stage_key(alert_id);
	unsigned k = (unsigned)(key >> 32) % STAGE_MARKS;

	if (marks[k].key != key) {
		marks[k].key = key;
		marks[k].answered_ns = 0;
	} else if (marks[k].answered_ns != 0)
		stage_add(STAGE_DISPATCH_READ,
		    stage_now() - marks[k].answered_ns);
}

void
stage_metrics_render(struct evbuffer *out)
{
	const char *name = "alertrelay_stage_seconds";
	uint64_t cum;
	size_t i;
	int s;

	evbuffer_add_printf(out,
	    "# HELP %s Time an alert spends in each stage inside this "
	    "relay: verify (frame read to signature verified), store (Redis "
	    "script incl. fsync), reply (accepted handed to TLS), "
	    "dispatch_read (stored to delivery read), webhook_sent (read to "
	    "request handed to curl), webhook_2xx (to the 2xx answer).\n"
	    "# TYPE %s histogram\n",
	    name, name);
	for (s = 0; s < STAGE_N; s++) {
		cum = 0;
		for (i = 0; i < STAGE_NBUCKETS; i++) {
			cum += stages[s].buckets[i];
			evbuffer_add_printf(out,
			    "%s_bucket{stage=\"%s\",le=\"%g\"} %llu\n", name,
			    stage_names[s], stage_bounds[i],
			    (unsigned long long)cum);
		}
		evbuffer_add_printf(out,
		    "%s_bucket{stage=\"%s\",le=\"+Inf\"} %llu\n"
		    "%s_sum{stage=\"%s\"} %.9f\n"
		    "%s_count{stage=\"%s\"} %llu\n",
		    name, stage_names[s], (unsigned long long)stages[s].count,
		    name, stage_names[s], stages[s].sum_ns / 1e9, name,
		    stage_names[s], (unsigned long long)stages[s].count);
	}
}
