#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <sodium.h>

#include "b64.h"
#include "conn.h"
#include "conn_dirframe.h"
#include "conn_flow.h"
#include "envelope.h"
#include "frame.h"
#include "ingest.h"
#include "evtimer_ms.h"
#include "log.h"
#include "log_budget.h"
#include "metrics.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "relay.h"
#include "relay_directory.h"
#include "slotcount.h"
#include "store.h"
#include "store_scripts.h"
#include "strindex.h"
#include "tls.h"
#include "xmalloc.h"

#define CLOSE_LINGER_MS 2000 /* time for an error frame to reach the peer */
/* Largest frame before authentication: an auth frame is about 200
 * bytes, and a peer nobody knows yet may not make us buffer more. */
#define AUTH_FRAME_MAX 1024

enum conn_state {
	CONN_HANDSHAKE, /* TLS handshake under way */
	CONN_AUTH, /* hello sent, waiting for auth */
	CONN_READY, /* authenticated: alerts accepted */
	CONN_CLOSING, /* error sent; closing once it is out */
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct relay *relay;
	struct bufferevent *bev;
	enum conn_state state;
	unsigned long long id;
	char peer[INET6_ADDRSTRLEN + 8];
	unsigned char source[NETADDR_SOURCE_MAX]; /* for the limits */
	size_t source_len;
	unsigned char challenge[AUTH_CHALLENGE_BYTES];
	char device_id[ID_MAX + 1];
	struct strlink by_device; /* in relay->by_device once ready */
	unsigned char auth_pk[crypto_sign_PUBLICKEYBYTES]; /* key it proved */
	struct event *timer; /* auth, frame or linger deadline */
	struct event *keepalive; /* pings an idle device, drops a dead one */
	int64_t last_rx_ms;
	struct ingest_req *ingest;
	struct store_req *req; /* a cancel, status or list under way */
	char req_type[16];
	char req_alert_id[33];
	char ingest_alert_id[33];
	int64_t ingest_start_ms;
	json_t *held; /* receipts of the alert being stored, until accepted */
	int shut; /* closing: our side of the session is shut down */
	size_t unauth_slot; /* its source's count of unauthenticated ones */
	struct conn_flow flow; /* bounds what it makes us queue */
};

static unsigned long long conn_next_id = 1;

static void conn_process(struct conn *c);

static void
conn_free(struct conn *c)
{
	struct relay *relay = c->relay;

	log_debug("conn %llu closed (%s)", c->id, c->peer);
	TAILQ_REMOVE(&relay->conns, c, entry);
	relay->nconns--;
	metrics.connections--;
	if (c->device_id[0] == '\0') {
		relay->nunauth--;
		slotcount_give(relay->unauth_by_addr, c->unauth_slot);
	} else
		metrics.devices_connected--;
	strindex_remove(&c->by_device);
	ingest_cancel(c->ingest);
	store_req_cancel(c->req);
	event_free(c->timer);
	if (c->keepalive != NULL)
		event_free(c->keepalive);
	conn_flow_free(&c->flow);
	json_decref(c->held);
	bufferevent_free(c->bev);
	free(c);
}

static void
conn_arm(struct conn *c, long ms)
{
	evtimer_add_ms(c->timer, ms);
}

static void
conn_send(struct conn *c, json_t *msg)
{
	if (frame_push(bufferevent_get_output(c->bev), msg,
	        (size_t)c->relay->cfg->max_frame) != 0)
		log_warnx("conn %llu: reply does not fit in a frame", c->id);
	json_decref(msg);
	conn_flow_full(&c->flow, c->relay->cfg->send_timeout);
}

/* Lines about peers that have not authenticated: they choose how many. */
static struct log_budget conn_unauth_log = {"unauthenticated connections", 0, 0,
    0};

/* Sends an error frame.  Fatal ones close the connection once sent. */
static void
conn_error(struct conn *c, const char *code, const char *message, int fatal)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
	    "message", message);

	if (c->ingest_alert_id[0] != '\0')
		json_object_set_new(o, "alert_id",
		    json_string(c->ingest_alert_id));
	metrics_refused(code);
	if (c->device_id[0] != '\0' || log_budget_take(&conn_unauth_log))
		log_info("conn %llu (%s%s%s): %s: %s", c->id, c->peer,
		    c->device_id[0] ? " device=" : "", c->device_id, code,
		    message);
	conn_send(c, o);
	if (!fatal)
		return;
	c->state = CONN_CLOSING;
	ingest_cancel(c->ingest);
	c->ingest = NULL;
	store_req_cancel(c->req);
	c->req = NULL;
	conn_arm(c, CLOSE_LINGER_MS);
}

static void
conn_send_hello(struct conn *c)
{
	char *ch;

	randombytes_buf(c->challenge, sizeof(c->challenge));
	ch = b64_encode(c->challenge, sizeof(c->challenge));
	conn_send(c,
	    json_pack("{s:s, s:i, s:s, s:i}", "type", "hello", "version", 1,
	        "challenge", ch, "max_frame",
	        (json_int_t)c->relay->cfg->max_frame));
	free(ch);
	c->state = CONN_AUTH;
}

/*
 * A device keeps its connection open for receipts.  Idle for keepalive
 * seconds, it is pinged; silent for three times that, the path is dead
 * and the connection is closed (the device reconnects and watches).
 */
static void
conn_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	long ka = c->relay->cfg->keepalive * 1000;
	int64_t idle = monotonic_ms() - c->last_rx_ms;

	(void)fd;
	(void)what;
	if (c->state != CONN_READY)
		return;
	if (idle >= 3 * ka)
		conn_error(c, "timeout", "no answer to keepalive pings", 1);
	else if (idle >= ka)
		conn_send(c, json_pack("{s:s}", "type", "ping"));
}

static void
conn_keepalive_start(struct conn *c)
{
	struct timeval tv = {c->relay->cfg->keepalive, 0};

	c->last_rx_ms = monotonic_ms();
	if (tv.tv_sec == 0)
		return;
	c->keepalive =
	    event_new(c->relay->base, -1, EV_PERSIST, conn_keepalive_cb, c);
	event_add(c->keepalive, &tv);
}

static void
conn_auth(struct conn *c, const json_t *o)
{
	const char *device_id = json_str(o, "device_id");
	const char *sigtext = json_str(o, "sig");
	const struct device_entry *dev;
	unsigned char sig[crypto_sign_BYTES], binding[AUTH_BINDING_BYTES];
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	if (device_id == NULL || !id_valid(device_id) ||
	    (dev = relay_config_device(c->relay->cfg, device_id)) == NULL) {
		conn_error(c, "unknown_device", "device is not enrolled", 1);
		return;
	}
	if (dev->revoked) {
		conn_error(c, "revoked", "device is revoked", 1);
		return;
	}
	if (sigtext == NULL || b64_decode_exact(sigtext, sig, sizeof(sig)) ||
	    tls_auth_binding(ssl, binding) != 0 ||
	    auth_verify(c->challenge, binding, sig, dev->sign_pk) != 0) {
		conn_error(c, "auth_failed", "authentication failed", 1);
		return;
	}
	/* Counted only once the device proved itself: failed attempts in
	 * its name cannot lock it out. */
	if (!ratelimit_take(c->relay->session_limit, device_id,
	        strlen(device_id), monotonic_ms())) {
		conn_error(c, "rate_limited",
		    "too many connections from this device; connect again "
		    "shortly",
		    1);
		return;
	}
	snprintf(c->device_id, sizeof(c->device_id), "%s", device_id);
	memcpy(c->auth_pk, dev->sign_pk, sizeof(c->auth_pk));
	c->by_device.key = c->device_id;
	c->by_device.owner = c;
	strindex_add(c->relay->by_device, &c->by_device);
	metrics.devices_connected++;
	c->relay->nunauth--;
	slotcount_give(c->relay->unauth_by_addr, c->unauth_slot);
	c->state = CONN_READY;
	evtimer_del(c->timer);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    (size_t)c->relay->cfg->max_frame + FRAME_HEADER);
	conn_keepalive_start(c);
	log_info("conn %llu: device=%s authenticated from %s", c->id,
	    c->device_id, c->peer);
	conn_send(c,
	    json_pack("{s:s, s:s}", "type", "ready", "device_id",
	        c->device_id));
}

/*
 * Receipts come from Redis (pub/sub), apart from the answer to the store:
 * when Redis was slow, an alert's first receipt can arrive before its
 * "accepted".  The protocol promises receipts after "accepted", and a
 * device must not hear "delivered" for an alert it still thinks unsent,
 * so they wait here (a few at most: one alert's first events) until the
 * answer has gone out.
 */
#define CONN_HELD_MAX 16

static int
conn_hold_receipt(struct conn *c, const char *alert_id, json_t *frame)
{
	if (c->ingest == NULL || strcmp(c->ingest_alert_id, alert_id) != 0)
		return 0;
	if (c->held == NULL)
		c->held = json_array();
	if (json_array_size(c->held) < CONN_HELD_MAX)
		json_array_append(c->held, frame);
	json_decref(frame);
	return 1;
}

static void
conn_release_receipts(struct conn *c)
{
	size_t i;

	if (c->held == NULL)
		return;
	for (i = 0; i < json_array_size(c->held); i++)
		conn_send(c, json_incref(json_array_get(c->held, i)));
	json_decref(c->held);
	c->held = NULL;
}

static void
conn_ingest_cb(const struct ingest_reply *r, void *arg)
{
	struct conn *c = arg;
	long ms = (long)(monotonic_ms() - c->ingest_start_ms);

	c->ingest = NULL;
	switch (r->result) {
	case INGEST_NEW:
	case INGEST_DUPLICATE:
		if (r->result == INGEST_DUPLICATE)
			metrics.alerts_duplicate++;
		else
			metrics.alerts_accepted++;
		log_info("alert accepted alert=%s device=%s relay_id=%s "
		         "duplicate=%d store_ms=%ld ref=%s",
		    c->ingest_alert_id, c->device_id, r->relay_id,
		    r->result == INGEST_DUPLICATE, ms, r->ref);
		conn_send(c,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "type",
		        "accepted", "alert_id", c->ingest_alert_id, "relay_id",
		        r->relay_id, "received_at", r->received_at, "ref",
		        r->ref, "duplicate", r->result == INGEST_DUPLICATE));
		break;
	case INGEST_CONFLICT:
		conn_error(c, "conflict",
		    "alert_id already used for a different alert", 0);
		break;
	case INGEST_UNAVAILABLE:
		log_warnx("alert alert=%s device=%s not stored: %s",
		    c->ingest_alert_id, c->device_id, r->error);
		conn_error(c, "unavailable",
		    "alert could not be stored now; send it again", 0);
		break;
	}
	c->ingest_alert_id[0] = '\0';
	conn_release_receipts(c);
	conn_process(c);
}

/* A captured envelope replayed much later, or one from a device whose
 * clock runs far ahead, is refused; resends within the window are
 * recognised by alert_id instead. */
static int
conn_too_old(struct conn *c, const struct envelope *env)
{
	const struct relay_config *cfg = c->relay->cfg;
	time_t created, now = time(NULL);

	if (time_rfc3339_parse(env->created_at, &created) != 0)
		return 0; /* envelope_decode already checked it */
	if (created > now + cfg->max_clock_skew) {
		conn_error(c, "bad_envelope",
		    "created_at is in the future: check the device's clock", 0);
		return -1;
	}
	if (created < now - cfg->max_alert_age) {
		conn_error(c, "stale", "alert is older than max_alert_age", 0);
		return -1;
	}
	return 0;
}

/* Every recipient the envelope names must be known here.  With a signed
 * directory, a device may have sealed the alert to an older version of
 * it: recipients removed since are left out rather than the alert
 * refused, as long as someone is left to reach. */
static int
conn_route(struct conn *c, struct envelope *env)
{
	size_t i, kept = 0;

	for (i = 0; i < env->nrecipients; i++) {
		if (relay_config_recipient(c->relay->cfg,
		        env->recipients[i].id) != NULL) {
			env->recipients[kept++] = env->recipients[i];
			continue;
		}
		if (c->relay->cfg->dir == NULL) {
			conn_error(c, "unknown_recipient",
			    "envelope names a recipient this relay does not "
			    "know",
			    0);
			return -1;
		}
		log_warnx("alert=%s device=%s: recipient %s is no longer in "
		          "the directory; left out",
		    env->alert_id, c->device_id, env->recipients[i].id);
		free(env->recipients[i].ciphertext);
	}
	env->nrecipients = kept;
	if (kept == 0) {
		conn_error(c, "unknown_recipient",
		    "none of the envelope's recipients is in the directory", 0);
		return -1;
	}
	return 0;
}

static void
conn_store_alert(struct conn *c, const char *json, size_t len,
    struct envelope *env)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];

	snprintf(c->ingest_alert_id, sizeof(c->ingest_alert_id), "%s",
	    env->alert_id);
	if (strcmp(env->device_id, c->device_id) != 0) {
		conn_error(c, "bad_envelope", "envelope is for another device",
		    1);
		return;
	}
	if (conn_too_old(c, env) != 0 || conn_route(c, env) != 0) {
		c->ingest_alert_id[0] = '\0';
		return;
	}
	crypto_hash_sha256(hash, (const unsigned char *)json, len);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	c->ingest_start_ms = monotonic_ms();
	c->ingest = ingest_alert(c->relay, env, hex, conn_ingest_cb, c);
}

static void
conn_alert(struct conn *c, const json_t *o)
{
	const char *b64env = json_str(o, "envelope");
	const char *sigtext = json_str(o, "sig");
	const struct device_entry *dev;
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	size_t len;
	struct envelope env;
	char err[128];

	metrics.alerts_received++;
	if (!ratelimit_take(c->relay->alert_limit, c->device_id,
	        strlen(c->device_id), monotonic_ms()) ||
	    !ratelimit_take(c->relay->addr_alert_limit, c->source,
	        c->source_len, monotonic_ms())) {
		conn_error(c, "rate_limited",
		    "too many alerts from this device or its address; send "
		    "it again shortly",
		    0);
		return;
	}
	/* A reload may have removed the device since it authenticated. */
	dev = relay_config_device(c->relay->cfg, c->device_id);
	if (dev == NULL || dev->revoked) {
		conn_error(c, dev == NULL ? "unknown_device" : "revoked",
		    dev == NULL ? "device is not enrolled"
		                : "device is revoked",
		    1);
		return;
	}
	if (b64env == NULL || sigtext == NULL ||
	    b64_decode(b64env, strlen(b64env), &json, &len) != 0 ||
	    b64_decode_exact(sigtext, sig, sizeof(sig)) != 0) {
		free(json);
		conn_error(c, "bad_envelope",
		    "alert frame needs base64 envelope and sig", 1);
		return;
	}
	if (relay_device_verify_envelope(dev, (const char *)json, len, sig) !=
	    0) {
		free(json);
		conn_error(c, "bad_signature",
		    "envelope signature does not verify", 1);
		return;
	}
	if (envelope_decode((const char *)json, len, &env, err, sizeof(err)) !=
	    0) {
		free(json);
		conn_error(c, "bad_envelope", err, 1);
		return;
	}
	conn_store_alert(c, (const char *)json, len, &env);
	envelope_free(&env);
	free(json);
}

/* Answers of status, list and cancel go out as the script gave them,
 * under the frame type asked for. */
static void
conn_answer_cb(json_t *reply, const char *err, void *arg)
{
	struct conn *c = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));
	char type[16];

	c->req = NULL;
	snprintf(type, sizeof(type), "%s", c->req_type);
	if (reply == NULL) {
		log_warnx("conn %llu: %s: %s", c->id, type, err);
		conn_error(c, "unavailable", "try again", 0);
	} else if (r != NULL && strcmp(r, "unknown") == 0)
		conn_error(c, "unknown_alert", "no such alert of this device",
		    0);
	else {
		json_t *out = json_deep_copy(reply);
		json_t *alerts = json_object_get(out, "alerts");

		/* Lua's cjson writes an empty list as {} */
		if (json_is_object(alerts))
			json_object_set_new(out, "alerts", json_array());
		if (strcmp(type, "cancel") == 0) {
			json_object_clear(out);
			json_object_set_new(out, "alert_id",
			    json_string(c->req_alert_id));
			log_info("alert cancelled alert=%s device=%s result=%s",
			    c->req_alert_id, c->device_id, r ? r : "?");
			snprintf(type, sizeof(type), "cancelled");
		}
		json_object_del(out, "r");
		json_object_set_new(out, "type", json_string(type));
		conn_send(c, out);
	}
	conn_process(c);
}

static void
conn_status(struct conn *c, const json_t *o)
{
	const char *aid = json_str(o, "alert_id");

	if (aid == NULL || !alert_id_valid(aid)) {
		conn_error(c, "bad_frame", "status needs an alert_id", 1);
		return;
	}
	snprintf(c->req_type, sizeof(c->req_type), "status");
	c->req = store_eval(c->relay->store, script_status,
	    json_pack("{s:s, s:s}", "aid", aid, "dev", c->device_id),
	    conn_answer_cb, c);
}

static void
conn_list(struct conn *c, const json_t *o)
{
	json_t *l = json_object_get(o, "limit");
	json_int_t limit = json_is_integer(l) ? json_integer_value(l) : 20;
	char lim[8];

	if (limit < 1 || limit > 100) {
		conn_error(c, "bad_frame", "limit must be 1..100", 1);
		return;
	}
	snprintf(lim, sizeof(lim), "%d", (int)limit);
	snprintf(c->req_type, sizeof(c->req_type), "list");
	c->req = store_eval(c->relay->store, script_list,
	    json_pack("{s:s, s:s}", "dev", c->device_id, "limit", lim),
	    conn_answer_cb, c);
}

/* Signed by the device like an envelope, with its own context. */
static void
conn_cancel(struct conn *c, const json_t *o)
{
	const char *b64 = json_str(o, "cancel"), *sigtext = json_str(o, "sig");
	const struct device_entry *dev;
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	json_t *req = NULL;
	const char *aid, *devid;
	char now[RFC3339_LEN];
	size_t len;

	dev = relay_config_device(c->relay->cfg, c->device_id);
	if (dev == NULL || b64 == NULL || sigtext == NULL ||
	    b64_decode(b64, strlen(b64), &json, &len) != 0 ||
	    b64_decode_exact(sigtext, sig, sizeof(sig)) != 0) {
		free(json);
		conn_error(c, "bad_envelope",
		    "cancel frame needs base64 cancel and sig", 1);
		return;
	}
	if (cancel_verify((const char *)json, len, sig, dev->sign_pk) != 0) {
		free(json);
		conn_error(c, "bad_signature",
		    "cancel signature does not verify", 1);
		return;
	}
	req = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, NULL);
	free(json);
	aid = json_str(req, "alert_id");
	devid = json_str(req, "device_id");
	if (aid == NULL || !alert_id_valid(aid) || devid == NULL ||
	    strcmp(devid, c->device_id) != 0) {
		json_decref(req);
		conn_error(c, "bad_envelope", "cancel is malformed", 1);
		return;
	}
	snprintf(c->req_alert_id, sizeof(c->req_alert_id), "%s", aid);
	snprintf(c->req_type, sizeof(c->req_type), "cancel");
	json_decref(req);
	time_rfc3339_ms(now, now_ms());
	c->req = store_eval(c->relay->store, script_cancel,
	    json_pack("{s:s, s:s, s:s}", "aid", c->req_alert_id, "dev",
	        c->device_id, "now", now),
	    conn_answer_cb, c);
}

/* The signed directory, as the organisation signed it; only its version
 * when the device already has that one. */
static void
conn_directory(struct conn *c, const json_t *o)
{
	const struct directory *d = c->relay->cfg->dir;
	json_t *have = json_object_get(o, "have");

	/* Each answer may be megabytes for a request of 30 bytes: one at a
	 * time, and a device asks only once per session anyway. */
	if (conn_flow_directory_pending(&c->flow)) {
		conn_error(c, "directory_pending",
		    "the previous directory is still being sent", 1);
		return;
	}
	if (d == NULL) {
		conn_error(c, "no_directory",
		    "this relay has no signed directory", 0);
		return;
	}
	if (json_is_integer(have) && json_integer_value(have) == d->version) {
		conn_send(c,
		    json_pack("{s:s, s:I}", "type", "directory", "version",
		        (json_int_t)d->version));
		return;
	}
	if (conn_dirframe_push(bufferevent_get_output(c->bev), d) != 0)
		log_warnx("conn %llu: directory does not fit in a frame",
		    c->id);
	conn_flow_directory_queued(&c->flow);
	conn_flow_full(&c->flow, c->relay->cfg->send_timeout);
}

static void
conn_frame(struct conn *c, const char *payload, size_t len)
{
	const char *type;
	char err[128];
	json_t *o = frame_parse(payload, len, &type, err, sizeof(err));

	if (o == NULL) {
		conn_error(c, "bad_frame", err, 1);
		return;
	}
	if (c->state == CONN_AUTH) {
		if (strcmp(type, "auth") == 0)
			conn_auth(c, o);
		else
			conn_error(c, "not_authenticated",
			    "authenticate before anything else", 1);
	} else if (strcmp(type, "alert") == 0)
		conn_alert(c, o);
	else if (strcmp(type, "cancel") == 0)
		conn_cancel(c, o);
	else if (strcmp(type, "status") == 0 || strcmp(type, "watch") == 0)
		conn_status(c, o);
	else if (strcmp(type, "list") == 0)
		conn_list(c, o);
	else if (strcmp(type, "directory") == 0)
		conn_directory(c, o);
	else if (strcmp(type, "ping") == 0)
		conn_send(c, json_pack("{s:s}", "type", "pong"));
	else if (strcmp(type, "pong") == 0)
		;
	else
		conn_error(c, "bad_frame", "unknown frame type", 1);
	json_decref(o);
}

/* Handles whole frames in order; stops while an alert is being stored,
 * so answers go out in the order the frames came in, and while the
 * answers already made are not read, so a peer that does not read
 * cannot make us queue more. */
static void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t max, len;
	char *payload, msg[96];

	while (c->state == CONN_AUTH || c->state == CONN_READY) {
		if (c->ingest != NULL || c->req != NULL ||
		    conn_flow_full(&c->flow, c->relay->cfg->send_timeout))
			return;
		max = c->state == CONN_AUTH ? AUTH_FRAME_MAX
		                            : (size_t)c->relay->cfg->max_frame;
		switch (frame_pull(in, max, &payload, &len)) {
		case FRAME_OK:
			c->last_rx_ms = monotonic_ms();
			if (c->state == CONN_READY)
				evtimer_del(c->timer);
			conn_frame(c, payload, len);
			free(payload);
			break;
		case FRAME_TOO_LARGE:
			snprintf(msg, sizeof(msg), "frame exceeds %zu bytes%s",
			    max,
			    c->state == CONN_AUTH ? " before authentication"
			                          : "");
			conn_error(c, "frame_too_large", msg, 1);
			return;
		case FRAME_EMPTY:
			conn_error(c, "bad_frame", "empty frame", 1);
			return;
		case FRAME_INCOMPLETE:
			/* A started frame must be finished in time. */
			if (c->state == CONN_READY &&
			    evbuffer_get_length(in) > 0 &&
			    !evtimer_pending(c->timer, NULL))
				conn_arm(c,
				    c->relay->cfg->frame_timeout * 1000);
			return;
		}
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING) {
		/* Discard: we only wait for our error frame to get out. */
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	conn_process(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	/* A fatal error is out: end the session now (close_notify, then
	 * FIN), so the device learns at once; the socket itself is closed
	 * after the linger, which keeps unread input from turning the
	 * close into a reset that could destroy the error frame. */
	if (c->state != CONN_CLOSING || c->shut ||
	    evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	c->shut = 1;
	SSL_shutdown(bufferevent_openssl_get_ssl(bev));
	shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		log_debug("conn %llu: TLS established with %s", c->id, c->peer);
		metrics.tls_handshakes_ok++;
		conn_send_hello(c);
		return;
	}
	if (c->state == CONN_HANDSHAKE)
		metrics.tls_handshakes_failed++;
	if (what & BEV_EVENT_ERROR) {
		e = bufferevent_get_openssl_error(bev);
		if (c->state == CONN_HANDSHAKE && e != 0 &&
		    log_budget_take(&conn_unauth_log))
			log_info("conn %llu: TLS handshake with %s failed: %s",
			    c->id, c->peer, ERR_reason_error_string(e));
	}
	conn_free(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_HANDSHAKE:
		if (log_budget_take(&conn_unauth_log))
			log_info("conn %llu: %s did not finish the TLS "
			         "handshake in time",
			    c->id, c->peer);
		conn_free(c);
		break;
	case CONN_AUTH:
		conn_error(c, "timeout", "no authentication in time", 1);
		break;
	case CONN_READY:
		conn_error(c, "timeout", "frame not completed in time", 1);
		break;
	case CONN_CLOSING:
		conn_free(c);
		break;
	}
}

/* The peer let its answers pile up past the bound for send_timeout:
 * an error frame would never get through, so it is dropped at once. */
static void
conn_flow_expired_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	metrics.slow_readers_closed++;
	log_info("conn %llu (%s%s%s): closed: peer does not read "
	         "output_bytes=%zu send_timeout=%ld",
	    c->id, c->peer, c->device_id[0] ? " device=" : "", c->device_id,
	    evbuffer_get_length(bufferevent_get_output(c->bev)),
	    c->relay->cfg->send_timeout);
	conn_free(c);
}

/* The peer read enough of what we queued: take its requests again. */
static void
conn_flow_resumed(void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_READY)
		conn_process(c);
}

static void
conn_peer_name(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(s4->sin_port));
	}
}

void
conn_accept(struct relay *relay, evutil_socket_t fd, const struct sockaddr *sa,
    int salen, size_t unauth_slot)
{
	struct conn *c;
	SSL *ssl;

	(void)salen;
	if ((ssl = SSL_new(relay->ssl_ctx)) == NULL) {
		log_warnx("SSL_new: %s", tls_error_string());
		slotcount_give(relay->unauth_by_addr, unauth_slot);
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->relay = relay;
	c->id = conn_next_id++;
	c->unauth_slot = unauth_slot;
	c->source_len = netaddr_source(sa, c->source);
	conn_peer_name(sa, c->peer, sizeof(c->peer));
	c->bev = bufferevent_openssl_socket_new(relay->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("conn: cannot create a TLS bufferevent");
		SSL_free(ssl);
		slotcount_give(relay->unauth_by_addr, unauth_slot);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->timer = evtimer_new(relay->base, conn_timer_cb, c);
	TAILQ_INSERT_TAIL(&relay->conns, c, entry);
	relay->nconns++;
	relay->nunauth++;
	metrics.connections++;
	/* Bound what one connection may buffer: one whole frame, a small
	 * one until the peer authenticated. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    AUTH_FRAME_MAX + FRAME_HEADER);
	conn_flow_init(&c->flow, relay->base, c->bev, conn_flow_expired_cb,
	    conn_flow_resumed, c);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_arm(c, relay->cfg->auth_timeout * 1000);
	log_debug("conn %llu: accepted from %s", c->id, c->peer);
}

void
conn_receipt(struct relay *relay, const char *device_id, const char *alert_id,
    const json_t *receipt)
{
	struct strlink *l;
	struct conn *c;
	json_t *frame;

	for (l = strindex_first(relay->by_device, device_id); l != NULL;
	     l = strindex_next(l)) {
		c = l->owner;
		if (c->state != CONN_READY)
			continue;
		frame = json_deep_copy(receipt);
		json_object_set_new(frame, "type", json_string("receipt"));
		json_object_set_new(frame, "alert_id", json_string(alert_id));
		if (!conn_hold_receipt(c, alert_id, frame))
			conn_send(c, frame);
	}
}

/* After a reload: a device revoked, removed, or given a new key since it
 * authenticated is disconnected now; it cannot send any more. */
void
conn_revoke_sweep(struct relay *relay)
{
	const struct device_entry *dev;
	struct conn *c;

	TAILQ_FOREACH(c, &relay->conns, entry)
	{
		if (c->state != CONN_READY)
			continue;
		dev = relay_config_device(relay->cfg, c->device_id);
		if (dev == NULL)
			conn_error(c, "unknown_device",
			    "device is not enrolled", 1);
		else if (dev->revoked)
			conn_error(c, "revoked", "device is revoked", 1);
		else if (sodium_memcmp(dev->sign_pk, c->auth_pk,
		             sizeof(c->auth_pk)) != 0)
			conn_error(c, "key_rotated",
			    "device key was replaced; connect with the new key",
			    1);
	}
}

void
conn_close_all(struct relay *relay)
{
	while (!TAILQ_EMPTY(&relay->conns))
		conn_free(TAILQ_FIRST(&relay->conns));
	conn_dirframe_clear();
}
