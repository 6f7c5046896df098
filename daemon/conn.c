/*
 * One device connection (conn.h): its life from accept to close,
 * authentication, framing and deadlines.  Alerts are in conn_alert.c,
 * the other requests in conn_request.c.
 */
#include "audit.h"
#include "conn_authfail.h"
#include "conn_authverify.h"
#include "conn_int.h"
#include "conn_priority.h"
#include "conn_reap.h"
#include "conn_unauth.h"
#include "location.h"

#define CLOSE_LINGER_MS 2000 /* time for an error frame to reach the peer */
/* Largest frame before authentication: an auth frame is about 200
 * bytes, and a peer nobody knows yet may not make us buffer more. */
#define AUTH_FRAME_MAX 1024

static unsigned long long conn_next_id = 1;

static void conn_retire(struct conn *c);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

/* c will answer no more: what Redis does for an alert, a cancel, a
 * check-in, a location update or a supervision's end it sent goes on
 * and is recorded without it.  Its other requests (status, list), which
 * write nothing, end here. */
static void
conn_requests_let_go(struct conn *c)
{
	conn_ingest_detach(c);
	store_req_cancel(c->req);
	c->req = NULL;
	conn_job_detach(c);
}

/* Whatever could still reach c or call back into it: its device's index
 * entry (receipts find connections there), its requests, supervision,
 * the flow control's events.  Done when it is freed or retired. */
static void
conn_unhook(struct conn *c)
{
	conn_refuse_end(c);
	strindex_remove(c->relay->by_device, &c->by_device);
	conn_requests_let_go(c);
	supervise_conn_free(c->sup);
	c->sup = NULL;
	conn_flow_free(&c->flow);
}

void
conn_free(struct conn *c)
{
	struct relay *relay = c->relay;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	log_debug("conn %llu closed (%s)", c->id, c->peer);
	TAILQ_REMOVE(&relay->conns, c, entry);
	relay->nconns--;
	metrics.connections--;
	if (c->device_id[0] == '\0') {
		conn_unauth_remove(relay, c);
		conn_priority_progress(relay);
	} else
		metrics.devices_connected--;
	conn_unhook(c);
	event_free(c->timer);
	if (c->keepalive != NULL)
		event_free(c->keepalive);
	json_decref(c->held);
	/* The TLS object and the socket go here, not in libevent's
	 * finalizer: that runs later at the connection's priority, the
	 * default one for a device, where the reaper's batches of freed
	 * devices (conn_reap.h) added up to 100 ms in front of alerts. */
	bufferevent_free(c->bev);
	SSL_free(ssl);
	evutil_closesocket(fd);
	free(c);
}

static void
conn_arm(struct conn *c, long ms)
{
	evtimer_add_ms(c->timer, ms);
}

/* An answer that did not fit: the device gets an error frame (which
 * always fits: max_frame is at least 1024), not silence, naming the
 * alert it asked about. */
static void
conn_send_too_large(struct conn *c, const json_t *msg)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code",
	    "too_large", "message", "the answer does not fit in a frame");
	const char *aid = json_string_value(json_object_get(msg, "alert_id"));

	if (aid != NULL && alert_id_valid(aid))
		json_object_set_new(o, "alert_id", json_string(aid));
	if (frame_push(bufferevent_get_output(c->bev), o,
	        (size_t)c->relay->cfg->max_frame) != 0)
		log_warnx("conn %llu: no error frame either", c->id);
	json_decref(o);
}

void
conn_send(struct conn *c, json_t *msg)
{
	if (frame_push(bufferevent_get_output(c->bev), msg,
	        (size_t)c->relay->cfg->max_frame) != 0) {
		log_warnx("conn %llu: reply does not fit in a frame", c->id);
		conn_send_too_large(c, msg);
	}
	json_decref(msg);
	conn_flow_full(&c->flow, c->relay->cfg->send_timeout);
}

/* Lines about peers that have not authenticated: they choose how many. */
static struct log_budget conn_unauth_log = {"unauthenticated connections", 0, 0,
    0};

void
conn_audit(struct conn *c, const char *action, const char *result,
    const char *reason)
{
	char actor[ID_MAX + 8], object[ID_MAX + 8];

	snprintf(actor, sizeof(actor), "device:%s", c->device_id);
	if (c->ingest_alert_id[0] != '\0')
		snprintf(object, sizeof(object), "alert:%s",
		    c->ingest_alert_id);
	else
		snprintf(object, sizeof(object), "device:%s", c->device_id);
	audit_relay(c->relay, action, object, result, c->peer, "tls", actor,
	    reason);
}

/* A refused authentication: the device it claimed to be, if that is a
 * well-formed name at all.  Anyone who reaches the port can fail at
 * will: past the first few from a source, counted (conn_authfail.h). */
static void
conn_audit_auth(struct conn *c, const char *claimed, const char *why)
{
	char actor[ID_MAX + 8];

	if (!conn_authfail_take(c->relay->authfail, c->source, c->source_len,
	        why))
		return;
	snprintf(actor, sizeof(actor), "device:%s",
	    claimed != NULL && id_valid(claimed) ? claimed : "?");
	audit_relay(c->relay, "device.auth", actor, "refused", c->peer, "tls",
	    actor, why);
}

/* The error frame itself; fatal ones close the connection once sent. */
static void
conn_error_send(struct conn *c, const char *code, const char *message,
    int fatal)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
	    "message", message);
	if (c->ingest_alert_id[0] != '\0')
		json_object_set_new(o, "alert_id",
		    json_string(c->ingest_alert_id));
	if (fatal) /* to end the session once the frame is out */
		bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb,
		    conn_event_cb, c);
	conn_send(c, o);
	if (!fatal)
		return;
	c->state = CONN_CLOSING;
	conn_requests_let_go(c);
	conn_arm(c, CLOSE_LINGER_MS);
}

/* Sends an error frame.  Fatal ones close the connection once sent. */
void
conn_error(struct conn *c, const char *code, const char *message, int fatal)
{
	/* An enrolled device chooses how often it is refused: its lines
	 * and records are budgeted, and a connection refused too often is
	 * closed (conn_refuse.h). */
	if (c->device_id[0] != '\0') {
		if (conn_refuse_note(c, code, message, fatal)) {
			code = CONN_REFUSE_CODE;
			message = CONN_REFUSE_MESSAGE;
			fatal = 1;
		}
	} else if (log_budget_take(&conn_unauth_log))
		log_info("conn %llu (%s): %s: %s", c->id, c->peer, code,
		    message);
	metrics_refused(code);
	conn_error_send(c, code, message, fatal);
}

static void
conn_send_hello(struct conn *c)
{
	json_t *features;
	char *ch;

	randombytes_buf(c->challenge, sizeof(c->challenge));
	ch = b64_encode(c->challenge, sizeof(c->challenge));
	features = json_pack("[s, s]", "checkin", "supervise");
	if (c->relay->cfg->location_enabled)
		json_array_append_new(features, json_string("location"));
	conn_send(c,
	    json_pack("{s:s, s:i, s:i, s:s, s:i, s:o}", "type", "hello",
	        "version", 1, "revision", 3, "challenge", ch, "max_frame",
	        (json_int_t)c->relay->cfg->max_frame, "features", features));
	free(ch);
	c->state = CONN_AUTH;
	conn_priority_progress(c->relay);
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

/*
 * A device holds at most max_sessions_per_device sessions: a stolen key
 * could otherwise take every place of max_connections, one session at a
 * time within device_conn_rate (about 5.5 hours at the defaults).  The
 * newest session wins: a device whose network changed reconnects before
 * the relay has seen its old sessions die, and those are the ones to go.
 */
static void
conn_make_room(struct conn *c, const char *device_id)
{
	struct conn *oldest = NULL, *o;
	struct strlink *l;
	long held = 0;

	for (l = strindex_first(c->relay->by_device, device_id); l != NULL;
	     l = strindex_next(l)) {
		o = l->owner;
		if (o->state != CONN_READY)
			continue;
		held++;
		if (oldest == NULL || o->id < oldest->id)
			oldest = o;
	}
	if (oldest == NULL || held < c->relay->cfg->max_sessions_per_device)
		return;
	metrics.sessions_superseded++;
	conn_error(oldest, "superseded",
	    "a newer session of this device took its place", 1);
}

/*
 * A refused authentication.  The audit, the log and the metrics keep
 * the real reason (why: unknown_device, revoked, auth_failed); the peer
 * is told "revoked" only when it proved it holds the device's key, and
 * auth_failed otherwise, whatever the reason: anyone can reach the port
 * and try ids made from officials' names, and must not learn which of
 * them carry an alert device (docs/SECURITY.md).
 */
static void
conn_auth_refuse(struct conn *c, const char *claimed, const char *why,
    int proven)
{
	conn_audit_auth(c, claimed, why);
	if (log_budget_take(&conn_unauth_log))
		log_info("conn %llu (%s): authentication refused: %s", c->id,
		    c->peer, why);
	metrics_refused(why);
	if (proven)
		conn_error_send(c, "revoked", "device is revoked", 1);
	else
		conn_error_send(c, "auth_failed", "authentication failed", 1);
}

static void
conn_auth(struct conn *c, const json_t *o)
{
	const char *device_id = json_str(o, "device_id");
	const struct device_entry *dev = NULL;
	int bad;

	if (device_id != NULL && id_valid(device_id))
		dev = relay_config_device(c->relay->cfg, device_id);
	/* The same work whether the id is enrolled or not. */
	bad = conn_authverify(c, json_str(o, "sig"), dev);
	if (dev == NULL) {
		conn_auth_refuse(c, device_id, "unknown_device", 0);
		return;
	}
	if (dev->revoked) {
		conn_auth_refuse(c, device_id, "revoked", !bad);
		return;
	}
	if (bad) {
		conn_auth_refuse(c, device_id, "auth_failed", 0);
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
	conn_make_room(c, device_id);
	snprintf(c->device_id, sizeof(c->device_id), "%s", device_id);
	memcpy(c->auth_pk, dev->sign_pk, sizeof(c->auth_pk));
	c->by_device.key = c->device_id;
	c->by_device.owner = c;
	strindex_add(c->relay->by_device, &c->by_device);
	metrics.devices_connected++;
	conn_unauth_remove(c->relay, c);
	c->state = CONN_READY;
	evtimer_del(c->timer);
	/* Out of the handshakes' priority now, before anything could
	 * queue its deferred callback (conn_priority.h). */
	if (conn_priority_raise(c->bev) != 0)
		log_warnx("conn %llu: priority not raised", c->id);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    (size_t)c->relay->cfg->max_frame + FRAME_HEADER);
	conn_priority_progress(c->relay);
	conn_keepalive_start(c);
	log_info("conn %llu: device=%s authenticated from %s", c->id,
	    c->device_id, c->peer);
	conn_audit(c, "device.auth", "ok", NULL);
	conn_send(c,
	    json_pack("{s:s, s:s}", "type", "ready", "device_id",
	        c->device_id));
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
	else if (strcmp(type, "checkin") == 0)
		checkin_conn_request(c, o);
	else if (strcmp(type, "supervise") == 0)
		supervise_conn_request(c, o);
	else if (strcmp(type, "location") == 0 &&
	    c->relay->cfg->location_enabled)
		location_conn_request(c, o);
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
void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t max, len;
	char *payload, msg[96];

	while (c->state == CONN_AUTH || c->state == CONN_READY) {
		if (c->ingest != NULL || c->req != NULL || c->job != NULL ||
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
			supervise_conn_seen(c);
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
		/* libevent has just made the connection's events anew, at
		 * the default priority: back behind the rest until it
		 * authenticated, unless the valve raised it. */
		if (!c->raised && conn_priority_lower(c->bev) != 0)
			log_warnx("conn %llu: priority not lowered", c->id);
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
	/* Unauthenticated: cheap, and counted against the limits on them
	 * until freed. */
	if (c->device_id[0] == '\0' || c->relay->reap == NULL)
		conn_free(c);
	else
		conn_retire(c);
}

/* Closed by its peer: unreachable now, freed later (conn_reap.h); its
 * callbacks and timers stop too. */
static void
conn_retire(struct conn *c)
{
	c->state = CONN_RETIRED;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	event_del(c->timer);
	if (c->keepalive != NULL)
		event_del(c->keepalive);
	conn_unhook(c);
	conn_reap_add(c->relay->reap, c);
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
	case CONN_RETIRED:
		break; /* its timer was stopped: the reaper frees it */
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
    int salen)
{
	struct conn *c;
	SSL *ssl;

	(void)salen;
	if ((ssl = SSL_new(relay->ssl_ctx)) == NULL) {
		log_warnx("SSL_new: %s", tls_error_string());
		evutil_closesocket(fd);
		return;
	}
	conn_priority_watch(ssl);
	c = xcalloc(1, sizeof(*c));
	c->relay = relay;
	c->id = conn_next_id++;
	c->source_len = netaddr_source(sa, c->source);
	conn_peer_name(sa, c->peer, sizeof(c->peer));
	/* Not BEV_OPT_CLOSE_ON_FREE: conn_free() frees ssl and closes fd. */
	c->bev = bufferevent_openssl_socket_new(relay->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, 0);
	if (c->bev == NULL) {
		log_warnx("conn: cannot create a TLS bufferevent");
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->timer = evtimer_new(relay->base, conn_timer_cb, c);
	TAILQ_INSERT_TAIL(&relay->conns, c, entry);
	relay->nconns++;
	conn_unauth_add(relay, c);
	metrics.connections++;
	/* Bound what one connection may buffer: one whole frame, a small
	 * one until the peer authenticated. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    AUTH_FRAME_MAX + FRAME_HEADER);
	/* Behind the rest until the handshake ends (relay.h); nothing of
	 * the new bufferevent is queued yet, so this cannot fail. */
	bufferevent_priority_set(c->bev, RELAY_PRIO_HANDSHAKE);
	conn_flow_init(&c->flow, relay->base, c->bev, conn_flow_expired_cb,
	    conn_flow_resumed, c);
	/* No write callback until the connection closes (conn_error): it
	 * would queue the deferred callback at every write, which must not
	 * be queued when the priority changes (conn_priority.h). */
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_arm(c, relay->cfg->auth_timeout * 1000);
	log_debug("conn %llu: accepted from %s", c->id, c->peer);
}

/* The "cancelled" receipt of an alert this session cancelled: it went
 * out with the answer (conn_int.h, cancel_skip). */
static int
conn_receipt_answered(struct conn *c, const char *alert_id,
    const json_t *receipt)
{
	const char *event =
	    json_string_value(json_object_get(receipt, "event"));

	return event != NULL && strcmp(event, "cancelled") == 0 &&
	    conn_cancel_skip_take(c, alert_id);
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
		if (c->state != CONN_READY ||
		    conn_receipt_answered(c, alert_id, receipt))
			continue;
		frame = json_deep_copy(receipt);
		json_object_set_new(frame, "type", json_string("receipt"));
		if (alert_id[0] != '\0') /* not a check-in reminder */
			json_object_set_new(frame, "alert_id",
			    json_string(alert_id));
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
	conn_reap_forget_all(relay->reap);
	while (!TAILQ_EMPTY(&relay->conns))
		conn_free(TAILQ_FIRST(&relay->conns));
	conn_dirframe_clear();
}
