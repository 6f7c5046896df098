/*
 * alertrelay-loadgen: the benchmark's load generator (bench/run.py drives
 * it).  It plays many enrolled devices at once, each with its own key and
 * TLS connection, and the contact point's webhook endpoint, so that the
 * time from a press to the webhook is measured on one clock.
 *
 * Device keys are derived from a seed (BLAKE2b(seed || index)), so the
 * driver can put the same public keys into the signed directory
 * (`alertrelay-loadgen keys`).
 */
#ifndef LG_H
#define LG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "util.h"

#define LG_SEED_BYTES 32
#define LG_RECIPIENT "bench-hook"

struct lg;

struct lg_device {
	struct lg *lg;
	char id[ID_MAX + 1];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct bufferevent *bev;
	int ready; /* authenticated */
	int failed;
	int64_t failed_us; /* when; a device in the storm tries again */
	int in_flight; /* an alert waits for its answer */
	json_t *prepared; /* an alert frame built, not yet sent */
	struct lg_sample *sample; /* its sample */
};

struct lg_sample {
	char alert_id[33];
	int64_t sent_us; /* before sealing and signing: the press */
	int64_t accepted_us; /* 0 until the relay said accepted */
	int64_t hook_us; /* 0 until the webhook came */
};

struct lg {
	struct event_base *base;
	SSL_CTX *ssl;
	int port;
	unsigned char seed[LG_SEED_BYTES];
	unsigned char rpk[crypto_box_PUBLICKEYBYTES]; /* bench-hook's key */
	struct lg_device *devices;
	size_t ndevices;
	size_t nready, nfailed, connecting;
	struct lg_sample *samples;
	size_t nsamples, maxsamples;
	size_t naccepted, nrefused, nhooks;
};

int64_t lg_now_us(void);
/* Device i's key pair, from the seed. */
void lg_device_keys(const unsigned char seed[LG_SEED_BYTES], size_t i,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    unsigned char sk[crypto_sign_SECRETKEYBYTES]);
void lg_recipient_keys(const unsigned char seed[LG_SEED_BYTES],
    unsigned char pk[crypto_box_PUBLICKEYBYTES],
    unsigned char sk[crypto_box_SECRETKEYBYTES]);

/* lg_device.c */
void lg_device_connect(struct lg_device *d, const char *source);
/* Seals, signs and sends one alert; the sample records its times from
 * before the sealing (the press). */
int lg_device_send(struct lg_device *d);
/* The same in two steps, so a burst is built before it is timed:
 * prepare seals and signs, fire sends (restamp: the time starts now). */
int lg_device_prepare(struct lg_device *d);
void lg_device_fire(struct lg_device *d, int restamp);
void lg_device_close(struct lg_device *d);

/* lg_report.c: percentiles in ms of the times from press to `which`
 * (0: accepted, 1: webhook) over samples [from, to); a burst's rates
 * (accepted and delivered per second) and both distributions. */
json_t *lg_latency(const struct lg *lg, size_t from, size_t to, int which);
json_t *lg_burst(const struct lg *lg, size_t from, size_t to);

/* lg_am.c: Prometheus Alertmanager's client (POST /api/v2/alerts). */
int lg_am_start(struct lg *lg, int port);
int lg_am_send_one(struct lg *lg);
/* n alerts' samples and request bodies, per_batch alerts in each;
 * returns how many; fire posts them all, timed from now. */
size_t lg_am_prepare_burst(struct lg *lg, size_t n, size_t per_batch);
void lg_am_fire_burst(struct lg *lg);
void lg_am_stop(void);

/* lg_storm.c: the reconnect storm. */
#define LG_STORM_WITNESSES 5
#define LG_STORM_S 60 /* its deadline */
#define LG_STORM_RETRY_MS 1000 /* a refused device tries again */
/* Handshakes in flight on the loadgen's side.  Real devices each have
 * their own CPU; the loadgen is one thread on the relay's cores, and
 * with all 10,000 started at once its own queue of client handshakes
 * outlasts the relay's auth_timeout (10 s): most time out and retry, and
 * the storm never ends.  1,000 keeps the relay's queue full. */
#define LG_STORM_CONCURRENT 1000
struct lg_storm {
	struct lg w; /* the witnesses, on their own thread and loop */
	pthread_t thread;
	int started;
	int w_ready, w_done, stop; /* atomics shared with the thread */
	int64_t start_us, done_us; /* done: every dropped device is back */
	int press_during[LG_STORM_WITNESSES]; /* pressed before all were back */
	size_t pressed, dropped, failed_before, retries, next;
	int64_t retry_scan_us;
};
/* Starts the witnesses' thread; they connect (lg_storm_witnesses_ready
 * says when they are in). */
int lg_storm_prepare(struct lg *lg, struct lg_storm *st);
int lg_storm_witnesses_ready(struct lg_storm *st);
/* Drops every ready device and reconnects them all at once, from the
 * same source addresses; returns how many. */
size_t lg_storm_begin(struct lg *lg, struct lg_storm *st, size_t sources);
/* 1 once every dropped device is back and the witnesses are done (or
 * the deadline passed). */
int lg_storm_tick(struct lg *lg, struct lg_storm *st, int64_t now,
    size_t sources);
void lg_storm_end(struct lg_storm *st);
json_t *lg_storm_report(const struct lg *lg, const struct lg_storm *st);

/* lg_hook.c: the webhook endpoint (the relay's and Alertmanager's);
 * 0 or -1. */
int lg_hook_start(struct lg *lg, int port);
void lg_hook_stop(void);
struct lg_sample *lg_sample_find(struct lg *lg, const char *alert_id);

#endif
