/*
 * A supervised connection (supervise.h): the device's "supervise" frame
 * and the deadline moved on by what it sends after.  Writes to Redis are
 * at most one per half interval per connection, whatever the device
 * sends; "supervise" frames themselves are limited per device, and one
 * that ends the supervision is a job of the connection (conn_job.c):
 * the device's next frame waits for it, so that no device can pile up
 * scripts nobody waits for, and it is logged whether or not the device
 * stays.  So is each write of the deadline, without holding up the
 * device's frames: one at a time per connection.
 */
#include "conn_int.h"
#include "checkin_scripts.h"
#include "supervise.h"

/* Kept from the first "supervise" frame until the connection goes, also
 * once the device ended the supervision (interval 0): a write under way
 * then still learns whether its device hung up before Redis answered. */
struct supervise_link {
	struct conn *c;
	long interval; /* seconds; 0: ended by the device */
	int64_t written_ms; /* monotonic, of the last write; 0: never */
	/* The deadline's write under way, or NULL: a job that outlives its
	 * connection (conn_job.c), as Redis writes it (and sends
	 * device.online) whether or not the device stays, so that the line
	 * and the count of a device back online do not depend on it either.
	 * Not the connection's c->job: its frames do not wait for it. */
	struct conn_job *seen;
};

/* The connection goes; its write under way goes on without it. */
void
supervise_conn_free(struct supervise_link *l)
{
	if (l == NULL)
		return;
	if (l->seen != NULL)
		l->seen->c = NULL;
	free(l);
}

static void
supervise_conn_written_cb(json_t *reply, const char *err, void *arg)
{
	struct conn_job *who = arg;
	struct supervise_link *l = who->c != NULL ? who->c->sup : NULL;
	const char *r = json_string_value(json_object_get(reply, "r"));

	int again = l != NULL && l->written_ms == 0;

	if (l != NULL) {
		l->seen = NULL;
		if (reply == NULL)
			l->written_ms = 0; /* again at the next frame */
	}
	if (reply == NULL)
		log_warnx("supervision device=%s%s: %s", who->device_id,
		    conn_job_gone(who), err);
	else if (r != NULL && strcmp(r, "online") == 0) {
		metrics.devices_online_events++;
		log_info("supervision device=%s state=online%s", who->device_id,
		    conn_job_gone(who));
	}
	/* Asked for again while this write was under way (a "supervise"
	 * after "supervise 0" whose Redis answer came before this one's,
	 * as after a NOSCRIPT resend): that request's write was skipped
	 * (one at a time, l->seen) and is made now, not at the device's
	 * next frame, which may be an interval away.  Once only: this
	 * write sets written_ms, so a failing Redis does not loop. */
	if (again && l->interval > 0)
		supervise_conn_seen(who->c);
	conn_job_release(who);
	free(who);
}

void
supervise_conn_seen(struct conn *c)
{
	struct supervise_link *l = c->sup;
	const struct relay_config *cfg = c->relay->cfg;
	int64_t mono = monotonic_ms();
	char due[24], iv[24];
	json_t *args;

	if (l == NULL || l->interval == 0 || l->seen != NULL ||
	    (l->written_ms != 0 && mono - l->written_ms < l->interval * 500) ||
	    !store_ready(c->relay->store))
		return;
	l->written_ms = mono;
	snprintf(due, sizeof(due), "%lld",
	    (long long)(now_ms() +
	        (l->interval + cfg->supervision_grace) * 1000));
	snprintf(iv, sizeof(iv), "%ld", l->interval);
	args = supervise_event_args(c->relay);
	json_object_set_new(args, "dev", json_string(c->device_id));
	json_object_set_new(args, "due_ms", json_string(due));
	json_object_set_new(args, "interval", json_string(iv));
	/* not the connection's c->job: the device's next frame need not
	 * wait for it (at most one per link, l->seen) */
	l->seen = xcalloc(1, sizeof(*l->seen));
	conn_job_init(l->seen, c, "");
	store_eval(c->relay->store, script_supervise_seen, args,
	    supervise_conn_written_cb, l->seen);
}

void
supervise_conn_refresh_all(struct relay *relay)
{
	struct conn *c;

	TAILQ_FOREACH(c, &relay->conns, entry)
	{
		if (c->sup == NULL || c->sup->interval == 0)
			continue;
		c->sup->written_ms = 0;
		supervise_conn_seen(c);
	}
}

static void
supervise_conn_answer(struct conn *c, long interval)
{
	conn_send(c,
	    json_pack("{s:s, s:I, s:I}", "type", "supervised", "interval",
	        (json_int_t)interval, "grace",
	        (json_int_t)c->relay->cfg->supervision_grace));
}

/* The end is logged whether or not the device stays: Redis removes
 * its deadline either way.  Not audited, as the device's supervise
 * frames never are. */
static void
supervise_conn_stopped_cb(json_t *reply, const char *err, void *arg)
{
	struct conn_job *who = arg;
	struct conn *c = who->c;

	if (reply == NULL)
		log_warnx("supervision device=%s%s: ending it: %s",
		    who->device_id, conn_job_gone(who), err);
	else
		log_info("supervision device=%s ended by the device%s",
		    who->device_id, conn_job_gone(who));
	conn_job_end(who);
	conn_job_release(who);
	free(who);
	if (c == NULL)
		return;
	if (reply == NULL)
		conn_error(c, "unavailable", "try again", 0);
	else
		supervise_conn_answer(c, 0);
	conn_process(c);
}

/* The device's deadline goes; the answer, and the device's next frame,
 * wait for Redis, a job of the connection (conn_job.c) that goes on if
 * the device does not stay. */
static void
supervise_conn_stop(struct conn *c)
{
	struct conn_job *who = xcalloc(1, sizeof(*who));

	if (c->sup != NULL)
		c->sup->interval = 0;
	snprintf(c->req_type, sizeof(c->req_type), "supervise");
	conn_job_init(who, c, "");
	conn_job_start(who);
	store_eval(c->relay->store, script_supervise_stop,
	    json_pack("{s:s}", "dev", c->device_id), supervise_conn_stopped_cb,
	    who);
}

/* {"type":"supervise","interval":N}: N seconds at most between frames
 * from now on; 0 ends the supervision without an event. */
void
supervise_conn_request(struct conn *c, const json_t *o)
{
	const struct relay_config *cfg = c->relay->cfg;
	json_t *v = json_object_get(o, "interval");
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

	if (!supervise_limit_take(c->relay->supervise, c->device_id)) {
		conn_error(c, "rate_limited",
		    "too many supervise requests from this device; send it "
		    "again shortly",
		    0);
		return;
	}
	if (n == 0) {
		supervise_conn_stop(c);
		return;
	}
	if (n < cfg->supervision_min_interval ||
	    n > cfg->supervision_max_interval) {
		conn_refuse_send(c,
		    json_pack("{s:s, s:s, s:s, s:I, s:I}", "type", "error",
		        "code", "bad_interval", "message",
		        "supervise interval outside this relay's bounds", "min",
		        (json_int_t)cfg->supervision_min_interval, "max",
		        (json_int_t)cfg->supervision_max_interval));
		return;
	}
	if (c->sup == NULL) {
		c->sup = xcalloc(1, sizeof(*c->sup));
		c->sup->c = c;
	}
	c->sup->interval = (long)n;
	c->sup->written_ms = 0;
	log_info("supervision device=%s interval=%ld", c->device_id, (long)n);
	supervise_conn_answer(c, (long)n);
	supervise_conn_seen(c);
}
