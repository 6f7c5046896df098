/*
 * alertrelay-loadgen: see lg.h.
 *
 *   alertrelay-loadgen keys N SEED		public keys, JSON
 *   alertrelay-loadgen run [options]		the phases below, a JSON
 *						report on stdout
 *
 * Phases: connect N devices (at most LG_CONCURRENT handshakes at once,
 * spread over --sources loopback addresses), hold (the driver reads the
 * relay's memory), latency (--latency alerts at --rate per second, each
 * from another device), ingest (--ingest alerts at once, one per
 * device, until each was accepted and its webhook came).  With
 * --am-port, the same two loads for Prometheus Alertmanager (lg_am.c):
 * --latency alerts one at a time, then --ingest alerts at once in
 * batches of 100.  With --storm 1, before the loads, when no alert is
 * open yet: the reconnect storm (lg_storm.c).  A line "phase NAME" starts each
 *load (the driver scrapes the relay's /metrics there); every phase has a
 *deadline.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/err.h>

#include "b64.h"
#include "lg.h"
#include "tls.h"
#include "xmalloc.h"

#define LG_CONCURRENT 64 /* TLS handshakes in flight */
#define LG_CONNECT_S 300
#define LG_WAIT_S 30
#define LG_SETTLE_US 500000 /* between loads: the driver scrapes */
#define LG_AM_BATCH 100

enum lg_phase {
	P_CONNECT,
	P_HOLD,
	P_LATENCY,
	P_LATENCY_WAIT,
	P_INGEST,
	P_INGEST_WAIT,
	P_STORM,
	P_STORM_WAIT,
	P_AM_LATENCY,
	P_AM_LATENCY_WAIT,
	P_AM_BURST,
	P_AM_BURST_WAIT,
	P_DONE
};

struct lg_run {
	struct lg lg;
	size_t sources;
	long hold_s, latency_n, rate, ingest_n, storm;
	struct lg_storm st;
	size_t connected_n; /* at the end of the connect phase */
	enum lg_phase phase;
	size_t next, cursor, lat_end, ing_first, ing_end;
	size_t am_lat_first, am_lat_end, am_burst_first, am_burst_end;
	long am_port;
	int ingest_started, am_burst_started;
	int64_t phase_us, last_send_us, connect_us;
	struct event *tick;
};

int64_t
lg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
lg_device_keys(const unsigned char seed[LG_SEED_BYTES], size_t i,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
	unsigned char in[LG_SEED_BYTES + 8], ds[crypto_sign_SEEDBYTES];
	uint64_t n = i;

	memcpy(in, seed, LG_SEED_BYTES);
	memcpy(in + LG_SEED_BYTES, &n, sizeof(n));
	crypto_generichash(ds, sizeof(ds), in, sizeof(in), NULL, 0);
	crypto_sign_seed_keypair(pk, sk, ds);
}

void
lg_recipient_keys(const unsigned char seed[LG_SEED_BYTES],
    unsigned char pk[crypto_box_PUBLICKEYBYTES],
    unsigned char sk[crypto_box_SECRETKEYBYTES])
{
	unsigned char ds[crypto_box_SEEDBYTES];

	crypto_generichash(ds, sizeof(ds), seed, LG_SEED_BYTES,
	    (const unsigned char *)"recipient", 9);
	crypto_box_seed_keypair(pk, sk, ds);
}

static int
lg_seed(const char *hex, unsigned char seed[LG_SEED_BYTES])
{
	size_t n;

	return sodium_hex2bin(seed, LG_SEED_BYTES, hex, strlen(hex), NULL, &n,
	           NULL) == 0 &&
	        n == LG_SEED_BYTES
	    ? 0
	    : -1;
}

static int
lg_keys(int argc, char **argv)
{
	unsigned char seed[LG_SEED_BYTES], pk[32], sk[64];
	json_t *o, *arr;
	long n, i;
	char *s;

	if (argc != 4 || parse_long(argv[2], 1, 1000000, &n) != 0 ||
	    lg_seed(argv[3], seed) != 0)
		return 2;
	arr = json_array();
	for (i = 0; i < n; i++) {
		lg_device_keys(seed, (size_t)i, pk, sk);
		s = b64_encode(pk, sizeof(pk));
		json_array_append_new(arr, json_string(s));
		free(s);
	}
	lg_recipient_keys(seed, pk, sk);
	s = b64_encode(pk, crypto_box_PUBLICKEYBYTES);
	o = json_pack("{s:o, s:s}", "devices", arr, "recipient", s);
	free(s);
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
	return 0;
}

/* The next ready device with nothing in flight, round robin. */
static struct lg_device *
lg_pick(struct lg_run *r)
{
	size_t k;

	for (k = 0; k < r->lg.ndevices; k++) {
		struct lg_device *d = &r->lg.devices[r->cursor];

		r->cursor = (r->cursor + 1) % r->lg.ndevices;
		if (d->ready && !d->in_flight)
			return d;
	}
	return NULL;
}

static void
lg_phase(struct lg_run *r, enum lg_phase p)
{
	static const char *const names[] = {[P_LATENCY] = "latency",
	    [P_INGEST] = "ingest",
	    [P_STORM] = "storm",
	    [P_AM_LATENCY] = "am_latency",
	    [P_AM_BURST] = "am_burst",
	    [P_DONE] = "done"};

	r->phase = p;
	r->phase_us = lg_now_us();
	if (p < sizeof(names) / sizeof(names[0]) && names[p] != NULL) {
		printf("phase %s\n", names[p]);
		fflush(stdout);
	}
}

static void
lg_tick_connect(struct lg_run *r, int64_t now)
{
	char src[32];

	while (r->lg.connecting < LG_CONCURRENT && r->next < r->lg.ndevices) {
		snprintf(src, sizeof(src), "127.0.%zu.%zu",
		    1 + (r->next % r->sources) / 250,
		    1 + (r->next % r->sources) % 250);
		lg_device_connect(&r->lg.devices[r->next++], src);
	}
	if ((r->lg.nready + r->lg.nfailed == r->lg.ndevices &&
	        r->next == r->lg.ndevices) ||
	    now - r->phase_us > (int64_t)LG_CONNECT_S * 1000000) {
		r->connect_us = now - r->phase_us;
		r->connected_n = r->lg.nready;
		printf("connected %zu failed %zu\n", r->lg.nready,
		    r->lg.nfailed);
		fflush(stdout);
		lg_phase(r, P_HOLD);
	}
}

/* Every webhook of samples [from, to) came. */
static int
lg_hooks_done(const struct lg_run *r, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		if (r->lg.samples[i].hook_us == 0)
			return 0;
	return 1;
}

static int
lg_waited(const struct lg_run *r, int64_t now, size_t from, size_t to)
{
	return lg_hooks_done(r, from, to) ||
	    now - r->phase_us > (int64_t)LG_WAIT_S * 1000000;
}

static void
lg_tick_ingest(struct lg_run *r, int64_t now)
{
	struct lg_device *d;
	long k;

	size_t i;

	if (!r->ingest_started) {
		if (now - r->phase_us < LG_SETTLE_US)
			return;
		r->ingest_started = 1;
		/* Built first, then sent: the rate is the relay's, not the
		 * time this process takes to seal and sign. */
		r->ing_first = r->lg.nsamples;
		for (k = 0; k < r->ingest_n && (d = lg_pick(r)) != NULL; k++)
			lg_device_prepare(d);
		/* run.py reads the relay's CPU time at these two lines. */
		printf("ingest fired\n");
		fflush(stdout);
		for (i = 0; i < r->lg.ndevices; i++)
			lg_device_fire(&r->lg.devices[i], 1);
		r->phase_us = lg_now_us();
		return;
	}
	if (r->lg.naccepted + r->lg.nrefused >= r->lg.nsamples ||
	    now - r->phase_us > (int64_t)LG_WAIT_S * 2000000) {
		printf("ingest answered\n");
		fflush(stdout);
		r->ing_end = r->lg.nsamples;
		lg_phase(r, P_INGEST_WAIT);
	}
}

/* Alertmanager's two loads, as the relay's (lg_am.c). */
static void
lg_tick_am(struct lg_run *r, int64_t now)
{
	switch (r->phase) {
	case P_AM_LATENCY:
		if (r->lg.nsamples - r->am_lat_first >= (size_t)r->latency_n) {
			r->am_lat_end = r->lg.nsamples;
			lg_phase(r, P_AM_LATENCY_WAIT);
		} else if (now - r->phase_us >= LG_SETTLE_US &&
		    now - r->last_send_us >= 1000000 / r->rate) {
			r->last_send_us = now;
			if (lg_am_send_one(&r->lg) != 0)
				r->latency_n = 0;
		}
		break;
	case P_AM_LATENCY_WAIT:
		if (lg_waited(r, now, r->am_lat_first, r->am_lat_end))
			lg_phase(r, P_AM_BURST);
		break;
	case P_AM_BURST:
		if (now - r->phase_us < LG_SETTLE_US)
			break;
		r->am_burst_first = r->lg.nsamples;
		lg_am_prepare_burst(&r->lg, (size_t)r->ingest_n, LG_AM_BATCH);
		r->am_burst_end = r->lg.nsamples;
		/* run.py reads Alertmanager's CPU time here and when done */
		printf("am fired\n");
		fflush(stdout);
		lg_am_fire_burst(&r->lg);
		lg_phase(r, P_AM_BURST_WAIT);
		break;
	default:
		if (lg_waited(r, now, r->am_burst_first, r->am_burst_end)) {
			printf("am delivered\n");
			fflush(stdout);
			lg_phase(r, P_DONE);
		}
		break;
	}
}

/* The witnesses connect first (30 s at most), then the drop. */
static void
lg_tick_storm(struct lg_run *r, int64_t now)
{
	if (r->phase == P_STORM) {
		if (now - r->phase_us < LG_SETTLE_US)
			return;
		if (!r->st.started && lg_storm_prepare(&r->lg, &r->st) != 0) {
			lg_phase(r, P_LATENCY);
			return;
		}
		if (lg_storm_witnesses_ready(&r->st)) {
			lg_storm_begin(&r->lg, &r->st, r->sources);
			r->phase = P_STORM_WAIT;
		} else if (now - r->phase_us > (int64_t)LG_WAIT_S * 1000000) {
			lg_storm_end(&r->st);
			lg_phase(r, P_LATENCY);
		}
		return;
	}
	if (lg_storm_tick(&r->lg, &r->st, now, r->sources)) {
		lg_storm_end(&r->st);
		printf("storm done\n");
		fflush(stdout);
		lg_phase(r, P_LATENCY);
	}
}

static void
lg_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lg_run *r = arg;
	int64_t now = lg_now_us();
	struct lg_device *d;

	(void)fd;
	(void)what;
	switch (r->phase) {
	case P_CONNECT:
		lg_tick_connect(r, now);
		break;
	case P_HOLD:
		if (now - r->phase_us > r->hold_s * 1000000)
			lg_phase(r, r->storm ? P_STORM : P_LATENCY);
		break;
	case P_LATENCY:
		/* Bounded like every phase: no ready device for too long
		 * (after a storm that did not end) ends it too. */
		if ((long)r->lg.nsamples >= r->latency_n ||
		    now - r->phase_us > (int64_t)LG_WAIT_S * 4000000) {
			r->lat_end = r->lg.nsamples;
			lg_phase(r, P_LATENCY_WAIT);
		} else if (now - r->phase_us >= LG_SETTLE_US &&
		    now - r->last_send_us >= 1000000 / r->rate &&
		    (d = lg_pick(r)) != NULL) {
			r->last_send_us = now;
			lg_device_send(d);
		}
		break;
	case P_LATENCY_WAIT:
		if (lg_waited(r, now, 0, r->lat_end))
			lg_phase(r, P_INGEST);
		break;
	case P_INGEST:
		lg_tick_ingest(r, now);
		break;
	case P_INGEST_WAIT:
		if (lg_waited(r, now, r->ing_first, r->ing_end)) {
			/* and at this one, for the deliveries as well */
			printf("ingest delivered\n");
			fflush(stdout);
			r->am_lat_first = r->lg.nsamples;
			lg_phase(r, r->am_port ? P_AM_LATENCY : P_DONE);
		}
		break;
	case P_STORM:
	case P_STORM_WAIT:
		lg_tick_storm(r, now);
		break;
	case P_AM_LATENCY:
	case P_AM_LATENCY_WAIT:
	case P_AM_BURST:
	case P_AM_BURST_WAIT:
		lg_tick_am(r, now);
		break;
	case P_DONE:
		event_base_loopexit(r->lg.base, NULL);
		break;
	}
}

/* What one core verifies per second: the relay's floor per alert. */
static double
lg_verify_rate(const struct lg *lg)
{
	unsigned char pk[32], sk[64], sig[64], msg[700];
	int64_t t0 = lg_now_us(), n = 0;

	lg_device_keys(lg->seed, 0, pk, sk);
	randombytes_buf(msg, sizeof(msg));
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	while (lg_now_us() - t0 < 1000000) {
		if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
			abort();
		n++;
	}
	return n / ((lg_now_us() - t0) / 1e6);
}

static int
lg_run_opts(struct lg_run *r, int argc, char **argv)
{
	long port = 0, hook = 0, n = 0, sources = 100;
	int i;

	r->hold_s = 3;
	r->rate = 50;
	for (i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		long *dst = strcmp(k, "--port") == 0 ? &port
		    : strcmp(k, "--hook-port") == 0  ? &hook
		    : strcmp(k, "--devices") == 0    ? &n
		    : strcmp(k, "--sources") == 0    ? &sources
		    : strcmp(k, "--hold") == 0       ? &r->hold_s
		    : strcmp(k, "--latency") == 0    ? &r->latency_n
		    : strcmp(k, "--rate") == 0       ? &r->rate
		    : strcmp(k, "--ingest") == 0     ? &r->ingest_n
		    : strcmp(k, "--am-port") == 0    ? &r->am_port
		    : strcmp(k, "--storm") == 0      ? &r->storm
		                                     : NULL;

		if (strcmp(k, "--seed") == 0) {
			if (lg_seed(v, r->lg.seed) != 0)
				return -1;
		} else if (dst == NULL || parse_long(v, 0, 1000000, dst) != 0)
			return -1;
	}
	if (i != argc || port == 0 || hook == 0 || n == 0 || r->rate == 0 ||
	    sources == 0 || sources > 250 * 250)
		return -1;
	r->lg.port = (int)port;
	r->lg.ndevices = (size_t)n;
	r->sources = (size_t)sources;
	return (int)hook;
}

static void
lg_setup(struct lg_run *r)
{
	unsigned char pk[32], rsk[crypto_box_SECRETKEYBYTES];
	char err[256];
	size_t i;

	r->lg.base = event_base_new();
	if ((r->lg.ssl = tls_client_ctx(err, sizeof(err))) == NULL) {
		fprintf(stderr, "loadgen: %s\n", err);
		exit(1);
	}
	lg_recipient_keys(r->lg.seed, r->lg.rpk, rsk);
	r->lg.devices = xcalloc(r->lg.ndevices, sizeof(*r->lg.devices));
	for (i = 0; i < r->lg.ndevices; i++) {
		struct lg_device *d = &r->lg.devices[i];

		d->lg = &r->lg;
		snprintf(d->id, sizeof(d->id), "bench-%05zu", i);
		lg_device_keys(r->lg.seed, i, pk, d->sk);
	}
	r->lg.maxsamples =
	    (size_t)(r->latency_n + r->ingest_n) * (r->am_port ? 2 : 1);
	r->lg.samples = xcalloc(r->lg.maxsamples + 1, sizeof(*r->lg.samples));
}

static int
lg_run(int argc, char **argv)
{
	struct lg_run r;
	struct timeval ms = {0, 1000};
	double verify;
	json_t *o;
	int hook;

	memset(&r, 0, sizeof(r));
	if ((hook = lg_run_opts(&r, argc, argv)) < 0)
		return 2;
	lg_setup(&r);
	verify = lg_verify_rate(&r.lg);
	if (lg_hook_start(&r.lg, hook) != 0) {
		fprintf(stderr, "loadgen: cannot listen on port %d\n", hook);
		return 1;
	}
	if (r.am_port && lg_am_start(&r.lg, (int)r.am_port) != 0) {
		fprintf(stderr, "loadgen: no client for Alertmanager\n");
		return 1;
	}
	r.tick = event_new(r.lg.base, -1, EV_PERSIST, lg_tick, &r);
	event_add(r.tick, &ms);
	lg_phase(&r, P_CONNECT);
	event_base_dispatch(r.lg.base);
	lg_hook_stop();
	lg_am_stop();
	o = json_pack("{s:I, s:I, s:I, s:f, s:o, s:o, s:o, s:f}", "devices",
	    (json_int_t)r.lg.ndevices, "connected", (json_int_t)r.connected_n,
	    "failed", (json_int_t)r.lg.nfailed, "connect_s", r.connect_us / 1e6,
	    "accepted", lg_latency(&r.lg, 0, r.lat_end, 0), "webhook",
	    lg_latency(&r.lg, 0, r.lat_end, 1), "ingest",
	    lg_burst(&r.lg, r.ing_first, r.ing_end), "verify_per_s", verify);
	if (r.storm)
		json_object_set_new(o, "storm", lg_storm_report(&r.lg, &r.st));
	if (r.am_port)
		json_object_set_new(o, "alertmanager",
		    json_pack("{s:o, s:o, s:o}", "accepted",
		        lg_latency(&r.lg, r.am_lat_first, r.am_lat_end, 0),
		        "webhook",
		        lg_latency(&r.lg, r.am_lat_first, r.am_lat_end, 1),
		        "burst",
		        lg_burst(&r.lg, r.am_burst_first, r.am_burst_end)));
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
	return 0;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	/* A connection the relay closed (the storm drops thousands at
	 * once) is an error on that device, not the end of the run. */
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "keys") == 0)
		return lg_keys(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return lg_run(argc, argv);
	fprintf(stderr,
	    "usage: alertrelay-loadgen keys N SEEDHEX\n"
	    "       alertrelay-loadgen run --port P --hook-port H "
	    "--devices N --seed SEEDHEX\n"
	    "           [--sources S] [--hold S] [--latency N] "
	    "[--rate R] [--ingest N] [--am-port P] [--storm 1]\n");
	return 2;
}
