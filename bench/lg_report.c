/*
 * The loadgen's figures from its samples: latency percentiles and a
 * burst's rates, for the relay and Alertmanager alike.
 */
#include <stdlib.h>

#include "lg.h"
#include "xmalloc.h"

static int
lg_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

json_t *
lg_latency(const struct lg *lg, size_t from, size_t to, int which)
{
	int64_t *v = xcalloc(to - from + 1, sizeof(*v));
	size_t i, n = 0;
	json_t *o;

	for (i = from; i < to; i++) {
		int64_t t =
		    which ? lg->samples[i].hook_us : lg->samples[i].accepted_us;

		if (t != 0)
			v[n++] = t - lg->samples[i].sent_us;
	}
	qsort(v, n, sizeof(*v), lg_cmp_i64);
	o = json_pack("{s:I, s:I}", "n", (json_int_t)n, "lost",
	    (json_int_t)(to - from - n));
	if (n > 0) {
		json_object_set_new(o, "p50_ms", json_real(v[n / 2] / 1000.0));
		json_object_set_new(o, "p99_ms",
		    json_real(v[(n * 99) / 100] / 1000.0));
		json_object_set_new(o, "max_ms", json_real(v[n - 1] / 1000.0));
	}
	free(v);
	return o;
}

/* From the first press to the last answer (or webhook): n per second. */
static void
lg_rate(json_t *o, const char *count, const char *seconds, const char *per_s,
    size_t n, int64_t first, int64_t last)
{
	json_object_set_new(o, count, json_integer((json_int_t)n));
	json_object_set_new(o, seconds, json_real((last - first) / 1e6));
	json_object_set_new(o, per_s,
	    json_real(last > first ? n / ((last - first) / 1e6) : 0.0));
}

json_t *
lg_burst(const struct lg *lg, size_t from, size_t to)
{
	int64_t first = 0, last = 0, last_hook = 0;
	size_t i, n = 0, hooks = 0;
	json_t *o = json_object();

	for (i = from; i < to; i++) {
		const struct lg_sample *s = &lg->samples[i];

		if (first == 0 || s->sent_us < first)
			first = s->sent_us;
		if (s->accepted_us > last)
			last = s->accepted_us;
		if (s->hook_us > last_hook)
			last_hook = s->hook_us;
		n += s->accepted_us != 0;
		hooks += s->hook_us != 0;
	}
	json_object_set_new(o, "sent", json_integer((json_int_t)(to - from)));
	lg_rate(o, "accepted", "seconds", "per_s", n, first, last);
	lg_rate(o, "delivered", "delivered_seconds", "delivered_per_s", hooks,
	    first, last_hook);
	json_object_set_new(o, "accepted_latency", lg_latency(lg, from, to, 0));
	json_object_set_new(o, "webhook_latency", lg_latency(lg, from, to, 1));
	return o;
}
