/*
 * One simulated device: TLS 1.3, hello/auth/ready, alerts and their
 * answers (docs/PROTOCOL.md).  Everything else the relay sends (receipts,
 * pings) is answered or ignored.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <jansson.h>

#include "b64.h"
#include "envelope.h"
#include "frame.h"
#include "lg.h"
#include "tls.h"
#include "xmalloc.h"

static void
lg_device_fail(struct lg_device *d)
{
	if (d->failed)
		return;
	d->failed = 1;
	d->failed_us = lg_now_us();
	d->lg->nfailed++;
	if (!d->ready)
		d->lg->connecting--;
	else
		d->lg->nready--;
	d->ready = 0;
	lg_device_close(d);
}

static void
lg_device_push(struct lg_device *d, json_t *o)
{
	frame_push(bufferevent_get_output(d->bev), o, FRAME_MAX_LIMIT);
	json_decref(o);
}

static void
lg_device_hello(struct lg_device *d, const json_t *o)
{
	unsigned char challenge[AUTH_CHALLENGE_BYTES], binding[32];
	unsigned char sig[crypto_sign_BYTES];
	const char *c64 = json_str(o, "challenge");
	char *s64;

	if (c64 == NULL ||
	    b64_decode_exact(c64, challenge, sizeof(challenge)) ||
	    tls_auth_binding(bufferevent_openssl_get_ssl(d->bev), binding)) {
		lg_device_fail(d);
		return;
	}
	auth_sign(challenge, binding, d->sk, sig);
	s64 = b64_encode(sig, sizeof(sig));
	lg_device_push(d,
	    json_pack("{s:s, s:s, s:s}", "type", "auth", "device_id", d->id,
	        "sig", s64));
	free(s64);
}

static void
lg_device_accepted(struct lg_device *d, const json_t *o, int ok)
{
	struct lg_sample *s = lg_sample_find(d->lg, json_str(o, "alert_id"));

	d->in_flight = 0;
	if (!ok) {
		d->lg->nrefused++;
		return;
	}
	d->lg->naccepted++;
	if (s != NULL && s->accepted_us == 0)
		s->accepted_us = lg_now_us();
}

static void
lg_device_frame(struct lg_device *d, const char *type, const json_t *o)
{
	if (strcmp(type, "hello") == 0)
		lg_device_hello(d, o);
	else if (strcmp(type, "ready") == 0) {
		d->ready = 1;
		d->lg->connecting--;
		d->lg->nready++;
	} else if (strcmp(type, "accepted") == 0)
		lg_device_accepted(d, o, 1);
	else if (strcmp(type, "ping") == 0)
		lg_device_push(d, json_pack("{s:s}", "type", "pong"));
	else if (strcmp(type, "error") == 0) {
		if (d->in_flight)
			lg_device_accepted(d, o, 0);
		else
			lg_device_fail(d);
	}
}

static void
lg_device_read(struct bufferevent *bev, void *arg)
{
	struct lg_device *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *type;
	char *payload, err[64];
	size_t len;
	json_t *o;

	while (!d->failed &&
	    frame_pull(in, FRAME_MAX_LIMIT, &payload, &len) == FRAME_OK) {
		o = frame_parse(payload, len, &type, err, sizeof(err));
		free(payload);
		if (o == NULL) {
			lg_device_fail(d);
			return;
		}
		lg_device_frame(d, type, o);
		json_decref(o);
	}
}

static void
lg_device_event(struct bufferevent *bev, short what, void *arg)
{
	struct lg_device *d = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		lg_device_fail(d);
}

void
lg_device_connect(struct lg_device *d, const char *source)
{
	struct sockaddr_in src, dst;
	evutil_socket_t fd;
	SSL *ssl = SSL_new(d->lg->ssl);

	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	inet_pton(AF_INET, source, &src.sin_addr);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)d->lg->port);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	d->lg->connecting++;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    evutil_make_socket_nonblocking(fd) != 0) {
		if (fd >= 0)
			close(fd);
		SSL_free(ssl);
		lg_device_fail(d);
		return;
	}
	d->bev = bufferevent_openssl_socket_new(d->lg->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(d->bev, lg_device_read, NULL, lg_device_event, d);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&dst,
	        sizeof(dst)) != 0)
		lg_device_fail(d);
}

/* The inner alert is signed and sealed as alertctl does it; the relay
 * only ever sees the ciphertext. */
static char *
lg_seal(struct lg_device *d, const char *alert_id, const char *created_at)
{
	unsigned char sm[512], ct[512 + crypto_box_SEALBYTES];
	unsigned long long smlen;
	char inner[256];
	int n;

	n = snprintf(inner, sizeof(inner),
	    "{\"alert_id\":\"%s\",\"device_id\":\"%s\",\"alert_type\":"
	    "\"panic\",\"created_at\":\"%s\",\"message\":\"bench\"}",
	    alert_id, d->id, created_at);
	crypto_sign(sm, &smlen, (unsigned char *)inner, (size_t)n, d->sk);
	crypto_box_seal(ct, sm, smlen, d->lg->rpk);
	return b64_encode(ct, smlen + crypto_box_SEALBYTES);
}

int
lg_device_prepare(struct lg_device *d)
{
	struct lg *lg = d->lg;
	struct lg_sample *s;
	struct envelope_recipient r;
	struct envelope env;
	unsigned char sig[crypto_sign_BYTES];
	char *json, *e64, *s64, head[9];

	if (!d->ready || d->in_flight || lg->nsamples == lg->maxsamples)
		return -1;
	s = &lg->samples[lg->nsamples++];
	s->sent_us = lg_now_us();
	memset(&env, 0, sizeof(env));
	alert_id_generate(env.alert_id);
	/* It begins with the sample's index, for lg_sample_find(). */
	snprintf(head, sizeof(head), "%08zx", (size_t)(s - lg->samples));
	memcpy(env.alert_id, head, 8);
	memcpy(s->alert_id, env.alert_id, sizeof(s->alert_id));
	snprintf(env.device_id, sizeof(env.device_id), "%s", d->id);
	snprintf(env.alert_type, sizeof(env.alert_type), "panic");
	time_rfc3339(env.created_at, time(NULL));
	snprintf(r.id, sizeof(r.id), "%s", LG_RECIPIENT);
	r.ciphertext = lg_seal(d, env.alert_id, env.created_at);
	env.nrecipients = 1;
	env.recipients = &r;
	json = envelope_encode(&env);
	envelope_sign(json, strlen(json), d->sk, sig);
	e64 = b64_encode(json, strlen(json));
	s64 = b64_encode(sig, sizeof(sig));
	d->prepared = json_pack("{s:s, s:s, s:s}", "type", "alert", "envelope",
	    e64, "sig", s64);
	d->sample = s;
	d->in_flight = 1;
	free(r.ciphertext);
	free(json);
	free(e64);
	free(s64);
	return 0;
}

void
lg_device_close(struct lg_device *d)
{
	if (d->bev != NULL)
		bufferevent_free(d->bev);
	d->bev = NULL;
}

void
lg_device_fire(struct lg_device *d, int restamp)
{
	if (d->prepared == NULL)
		return;
	if (restamp)
		d->sample->sent_us = lg_now_us();
	lg_device_push(d, d->prepared);
	d->prepared = NULL;
}

int
lg_device_send(struct lg_device *d)
{
	if (lg_device_prepare(d) != 0)
		return -1;
	lg_device_fire(d, 0);
	return 0;
}
