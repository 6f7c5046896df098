/*
 * The counters and gauges of GET /metrics, in Prometheus text format
 * (metrics.h).
 */
#include <string.h>

#include "metrics.h"
#include "stage_metrics.h"

struct metrics metrics = {.deadletter_entries = -1,
    .alerts_open = {-1, -1, -1, -1},
    .unacked_seconds = {-1, -1, -1, -1},
    .drills_open = -1,
    .drill_unacked_seconds = -1};

const char *const metrics_alert_types[ALERT_TYPES_N] = {"panic", "threat",
    "test", "missed_checkin"};

static const char *const channel_names[CHANNEL_N] = {"webhook", "sms"};

static const char *const reason_names[] = {"bad_frame", "frame_too_large",
    "timeout", "not_authenticated", "unknown_device", "auth_failed",
    "bad_signature", "bad_envelope", "unknown_recipient", "conflict",
    "unavailable", "busy", "rate_limited", "stale", "directory_pending",
    "too_many_refusals"};

_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) ==
        REFUSE_NREASONS,
    "a refusal reason without a name");

static const char *const listener_names[LISTENER_NKINDS] = {"device", "ack",
    "ack_plain", "admin"};

static const char *const result_names[DELIVERY_NRESULTS] = {"ok", "retry",
    "failed", "dropped"};

/* Seconds; single milliseconds are what we aim for, minutes what we
 * must still see. */
static const double latency_bounds[LATENCY_NBUCKETS] = {0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600};

int
metrics_reason(const char *code)
{
	int i;

	for (i = 0; i < REFUSE_NREASONS; i++)
		if (strcmp(code, reason_names[i]) == 0)
			return i;
	return -1;
}

const char *
metrics_listener_name(enum listener_kind kind)
{
	return listener_names[kind];
}

void
metrics_refused(const char *code)
{
	int r = metrics_reason(code);

	if (r >= 0)
		metrics.refused[r]++;
}

static void
metrics_observe(uint64_t *buckets, uint64_t *count, double *sum, double seconds)
{
	int i;

	for (i = 0; i < LATENCY_NBUCKETS; i++)
		if (seconds <= latency_bounds[i]) {
			buckets[i]++;
			break;
		}
	(*count)++;
	*sum += seconds;
}

void
metrics_delivery(const char *channel, int drill, enum delivery_result r)
{
	int c = strcmp(channel, "sms") == 0 ? CHANNEL_SMS : CHANNEL_WEBHOOK;

	if (drill)
		metrics.drill_deliveries[c][r]++;
	else
		metrics.deliveries[c][r]++;
}

void
metrics_delivery_latency(double seconds)
{
	metrics_observe(metrics.latency_buckets, &metrics.latency_count,
	    &metrics.latency_sum, seconds);
}

void
metrics_time_to_ack(double seconds)
{
	metrics_observe(metrics.ack_buckets, &metrics.ack_count,
	    &metrics.ack_sum, seconds);
}

static void
metric_head(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
metric_one(struct evbuffer *out, const char *name, const char *type,
    const char *help, double value)
{
	metric_head(out, name, type, help);
	evbuffer_add_printf(out, "%s %.17g\n", name, value);
}

static void
metrics_render_histogram(struct evbuffer *out, const char *name,
    const char *help, const uint64_t *buckets, uint64_t count, double sum)
{
	uint64_t cum = 0;
	int i;

	metric_head(out, name, "histogram", help);
	for (i = 0; i < LATENCY_NBUCKETS; i++) {
		cum += buckets[i];
		evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name,
		    latency_bounds[i], (unsigned long long)cum);
	}
	evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)count);
	evbuffer_add_printf(out, "%s_sum %.17g\n%s_count %llu\n", name, sum,
	    name, (unsigned long long)count);
}

static void
metrics_render_conn_refused(struct evbuffer *out)
{
	int k, r;

	metric_head(out, "alertrelay_connections_refused_total", "counter",
	    "Connections a listener closed or did not take, by listener and "
	    "reason.");
	for (k = 0; k < LISTENER_NKINDS; k++)
		for (r = 0; r < CONN_REFUSE_NREASONS; r++)
			evbuffer_add_printf(out,
			    "alertrelay_connections_refused_total{listener=\"%"
			    "s\","
			    "reason=\"%s\"} %llu\n",
			    listener_names[k], refuse_log_reason(r),
			    (unsigned long long)metrics.conn_refused[k][r]);
}

static void
metrics_render_by_channel(struct evbuffer *out, const char *name,
    const char *help, uint64_t v[CHANNEL_N][DELIVERY_NRESULTS])
{
	int c, i;

	metric_head(out, name, "counter", help);
	for (c = 0; c < CHANNEL_N; c++)
		for (i = 0; i < DELIVERY_NRESULTS; i++)
			evbuffer_add_printf(out,
			    "%s{channel=\"%s\",result=\"%s\"} %llu\n", name,
			    channel_names[c], result_names[i],
			    (unsigned long long)v[c][i]);
}

static void
metrics_render_deliveries(struct evbuffer *out)
{
	metrics_render_by_channel(out, "alertrelay_deliveries_total",
	    "Notifications of real alerts (not drills) by channel and "
	    "result: ok went through, retry an attempt failed, failed "
	    "max_attempts failed in a row (once per notification), dropped "
	    "no longer needed.",
	    metrics.deliveries);
	metrics_render_by_channel(out, "alertrelay_drill_deliveries_total",
	    "Notifications of drills, by channel and result as "
	    "alertrelay_deliveries_total.",
	    metrics.drill_deliveries);
	metric_one(out, "alertrelay_deadletters_total", "counter",
	    "Notifications this instance gave up and wrote to the dead-letter "
	    "stream.",
	    (double)metrics.deadletters);
}

/* A gauge read from Redis: not shown before it was read once. */
static void
metrics_render_by_type(struct evbuffer *out, const char *name, const char *help,
    const double *v)
{
	int i;

	if (v[0] < 0)
		return;
	metric_head(out, name, "gauge", help);
	for (i = 0; i < ALERT_TYPES_N; i++)
		evbuffer_add_printf(out, "%s{alert_type=\"%s\"} %.17g\n", name,
		    metrics_alert_types[i], v[i]);
}

static void
metrics_render_alerts(struct evbuffer *out)
{
	metrics_render_by_type(out, "alertrelay_alerts_open",
	    "Alerts open (neither acknowledged, cancelled nor expired), all "
	    "instances, by type.",
	    metrics.alerts_open);
	metrics_render_by_type(out, "alertrelay_alerts_unacknowledged_seconds",
	    "Age of the oldest open alert, by type; 0 when none is open.",
	    metrics.unacked_seconds);
	if (metrics.drills_open >= 0) {
		metric_one(out, "alertrelay_drills_open", "gauge",
		    "Drills open, all instances (not in "
		    "alertrelay_alerts_open).",
		    metrics.drills_open);
		metric_one(out, "alertrelay_drills_unacknowledged_seconds",
		    "gauge",
		    "Age of the oldest open drill; 0 when none is open.",
		    metrics.drill_unacked_seconds);
	}
	if (metrics.deadletter_entries >= 0)
		metric_one(out, "alertrelay_deadletter_entries", "gauge",
		    "Entries in the dead-letter stream, all instances.",
		    metrics.deadletter_entries);
}

void
metrics_render(struct evbuffer *out)
{
	int i;

	metric_one(out, "alertrelay_alerts_received_total", "counter",
	    "Alert frames received from authenticated devices.",
	    (double)metrics.alerts_received);
	metric_head(out, "alertrelay_alerts_accepted_total", "counter",
	    "Alerts (drills apart) answered accepted, by whether they were "
	    "resends.");
	evbuffer_add_printf(out,
	    "alertrelay_alerts_accepted_total{duplicate=\"false\"} %llu\n"
	    "alertrelay_alerts_accepted_total{duplicate=\"true\"} %llu\n",
	    (unsigned long long)metrics.alerts_accepted,
	    (unsigned long long)metrics.alerts_duplicate);
	metric_one(out, "alertrelay_drills_accepted_total", "counter",
	    "Drills accepted (not resends); not in "
	    "alertrelay_alerts_accepted_total.",
	    (double)metrics.drills_accepted);
	metric_head(out, "alertrelay_refused_total", "counter",
	    "Frames and alerts refused, by protocol error code.");
	for (i = 0; i < REFUSE_NREASONS; i++)
		evbuffer_add_printf(out,
		    "alertrelay_refused_total{reason=\"%s\"} %llu\n",
		    reason_names[i], (unsigned long long)metrics.refused[i]);
	metrics_render_conn_refused(out);
	metrics_render_deliveries(out);
	metrics_render_histogram(out, "alertrelay_delivery_latency_seconds",
	    "Time from the decision to notify to the notification going "
	    "through.",
	    metrics.latency_buckets, metrics.latency_count,
	    metrics.latency_sum);
	metrics_render_histogram(out, "alertrelay_time_to_ack_seconds",
	    "Time from an alert's arrival to its first acknowledgement.",
	    metrics.ack_buckets, metrics.ack_count, metrics.ack_sum);
	metric_one(out, "alertrelay_escalations_total", "counter",
	    "Escalations to a further tier.", (double)metrics.escalations);
	metric_one(out, "alertrelay_duress_repeats_total", "counter",
	    "Repeats of alarms cancelled under duress fired by this instance.",
	    (double)metrics.duress_repeats);
	metric_one(out, "alertrelay_deliveries_from_memory_total", "counter",
	    "First attempts of first-tier notifications made with the alert as "
	    "accepted here, without reading it back from Redis.",
	    (double)metrics.deliveries_fresh);
	metric_one(out, "alertrelay_deliveries_left_in_redis_total", "counter",
	    "Deliveries waiting for a retry left pending in Redis, because "
	    "max_inflight others already waited here.",
	    (double)metrics.deliveries_released);
	metric_one(out, "alertrelay_audit_records_refused_total", "counter",
	    "Audit records not added because Redis's chain for this instance "
	    "already had their numbers from another relay with the same "
	    "instance_id.",
	    (double)metrics.audit_refused);
	metric_one(out, "alertrelay_audit_records_dropped_total", "counter",
	    "Audit records dropped before Redis had them (the log says why).",
	    (double)metrics.audit_dropped);
	metric_one(out, "alertrelay_checkins_missed_total", "counter",
	    "Check-ins missed: prepared alerts raised by this instance.",
	    (double)metrics.checkins_missed);
	metric_one(out, "alertrelay_checkins_unsealed_total", "counter",
	    "Missed check-ins whose alert no recipient of the directory can "
	    "open any more (device.checkin_failed sent) by this instance.",
	    (double)metrics.checkins_unsealed);
	metric_one(out, "alertrelay_location_updates_total", "counter",
	    "Later positions of open alerts accepted by this instance.",
	    (double)metrics.location_updates);
	metric_one(out, "alertrelay_cancel_repeats_total", "counter",
	    "Cancels of an alert already cancelled (answered cancelled, "
	    "nothing done) by this instance.",
	    (double)metrics.cancel_repeats);
	metric_one(out, "alertrelay_device_offline_total", "counter",
	    "Supervised devices found offline (device.offline) by this "
	    "instance.",
	    (double)metrics.devices_offline_events);
	metric_one(out, "alertrelay_device_online_total", "counter",
	    "Supervised devices back online (device.online) seen by this "
	    "instance.",
	    (double)metrics.devices_online_events);
	metric_one(out, "alertrelay_acknowledgements_total", "counter",
	    "Acknowledgements of real alerts by recipients.",
	    (double)metrics.acknowledgements);
	metric_one(out, "alertrelay_ack_repeats_total", "counter",
	    "Acknowledgements repeated by a recipient on the same channel, "
	    "counted only (no event, receipt or audit record).",
	    (double)metrics.ack_repeats);
	metric_one(out, "alertrelay_drill_acknowledgements_total", "counter",
	    "Acknowledgements of drills by recipients.",
	    (double)metrics.drill_acknowledgements);
	metric_head(out, "alertrelay_tls_handshakes_total", "counter",
	    "TLS handshakes with devices, by result.");
	evbuffer_add_printf(out,
	    "alertrelay_tls_handshakes_total{result=\"ok\"} %llu\n"
	    "alertrelay_tls_handshakes_total{result=\"failed\"} %llu\n",
	    (unsigned long long)metrics.tls_handshakes_ok,
	    (unsigned long long)metrics.tls_handshakes_failed);
	metric_one(out, "alertrelay_slow_readers_closed_total", "counter",
	    "Device connections closed because they left their answers "
	    "unread past send_timeout.",
	    (double)metrics.slow_readers_closed);
	metric_one(out, "alertrelay_unauthenticated_evicted_total", "counter",
	    "Device connections not yet authenticated closed to make room for "
	    "a new one at max_unauthenticated or max_connections: the oldest "
	    "of the source holding the most.",
	    (double)metrics.unauth_evicted);
	metric_one(out, "alertrelay_sessions_superseded_total", "counter",
	    "Device sessions closed because a newer one of the same device "
	    "found max_sessions_per_device reached.",
	    (double)metrics.sessions_superseded);
	metric_one(out, "alertrelay_connections", "gauge",
	    "Open device connections.", (double)metrics.connections);
	metric_one(out, "alertrelay_devices_connected", "gauge",
	    "Authenticated device connections.",
	    (double)metrics.devices_connected);
	metric_one(out, "alertrelay_deliveries_inflight", "gauge",
	    "Deliveries this instance holds, being made or waiting for a "
	    "retry.",
	    (double)metrics.deliveries_inflight);
	metric_one(out, "alertrelay_deliveries_retrying", "gauge",
	    "Of those, deliveries that failed at least once; bounded apart "
	    "(max_inflight), they do not keep new ones from being read.",
	    (double)metrics.deliveries_retrying);
	metric_one(out, "alertrelay_queue_depth", "gauge",
	    "Deliveries taken but not yet completed, all instances.",
	    (double)metrics.queue_depth);
	metric_one(out, "alertrelay_oldest_pending_seconds", "gauge",
	    "Age of the oldest delivery not yet completed.",
	    metrics.oldest_pending_seconds);
	metric_one(out, "alertrelay_redis_up", "gauge",
	    "1 when both Redis connections are up.", metrics.redis_up);
	metric_one(out, "alertrelay_spool_bytes", "gauge",
	    "Bytes in the local spool of alerts not yet in Redis.",
	    (double)metrics.spool_bytes);
	metric_one(out, "alertrelay_spool_refused", "gauge",
	    "Alerts in the local spool that Redis refused for good (another "
	    "alert with the same id): kept there, without escalation.",
	    (double)metrics.spool_refused);
	metrics_render_alerts(out);
	stage_metrics_render(out);
}
