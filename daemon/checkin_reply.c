/*
 * What became of a device's check-in request once its script is sent
 * (checkin_conn.c checks the frame): logged, audited, answered.  Redis
 * does what the script does whether or not the device stays, so the
 * request is a job of its own (struct checkin_job, as a cancel is in
 * conn_cancel.c): its records, a duress warning included, do not
 * depend on the connection, which only hears the answer if still there.
 */
#include "checkin.h"
#include "checkin_int.h"
#include "conn_int.h"

struct checkin_job {
	struct conn_job who; /* who.id: the check-in */
	char op[16]; /* start, extend or done */
	char state[16]; /* told to the device once replicated */
	char r[16]; /* what the script did: ok or dup */
	int duress; /* the script released the alarm under duress now */
	int pin_duress; /* sent with the duress PIN */
};

static void
checkin_reply_refuse(struct conn *c, const char *code, const char *message,
    const char *key, const char *value)
{
	json_t *e = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
	    "message", message);

	if (key != NULL && value != NULL)
		json_object_set_new(e, key, json_string(value));
	conn_refuse_send(c, e);
}

/* The script's refusal, to a device still there. */
static void
checkin_reply_refusal(struct conn *c, const json_t *reply, const char *r)
{
	if (strcmp(r, "unknown") == 0)
		conn_error(c, "unknown_checkin",
		    "no such check-in of this device", 0);
	else if (strcmp(r, "active") == 0)
		checkin_reply_refuse(c, "checkin_active",
		    "this device already has an active check-in", "checkin_id",
		    json_str(reply, "checkin_id"));
	else if (strcmp(r, "missed") == 0)
		checkin_reply_refuse(c, "checkin_missed",
		    "too late: the deadline and grace have passed, the alert "
		    "is raised",
		    "alert_id", json_str(reply, "alert_id"));
	else if (strcmp(r, "unraised") == 0)
		checkin_reply_refuse(c, "checkin_not_raised",
		    "too late: the deadline and grace have passed, but no "
		    "alarm "
		    "could be raised",
		    "reason", json_str(reply, "why"));
	else if (strcmp(r, "releasing") == 0)
		/* Too late, but the alert to cancel is not stored yet: the
		 * device asks again and then hears which one it is. */
		conn_error(c, "unavailable",
		    "the alarm is being raised; try again", 0);
	else
		conn_error(c, "conflict",
		    strcmp(r, "done") == 0
		        ? "this check-in is already done"
		        : "checkin_id already used for another check-in",
		    0);
}

/* Its audit record: checkin.OP, or checkin.duress (reason: which op)
 * for the one that released the alarm under duress, as a duress cancel
 * is alert.duress: the log is the relay's, never shown on the device.
 * "unconfirmed": the master has it, too few replicas yet (the device
 * was told to try again).  An unknown check-in is not recorded, as an
 * unknown alert's cancel is not. */
static void
checkin_reply_audit(const struct checkin_job *k, const char *r,
    const char *result)
{
	char action[32];

	if (k->duress) {
		conn_job_audit(&k->who, "checkin.duress", "checkin", result,
		    k->op);
		return;
	}
	snprintf(action, sizeof(action), "checkin.%s", k->op);
	conn_job_audit(&k->who, action, "checkin", result,
	    strcmp(r, "ok") == 0 ? NULL : r);
}

/* The device's answer, if it is still there, and the job's end;
 * err: the master did it, too few replicas have it. */
static void
checkin_reply_finish(struct checkin_job *k, const char *err)
{
	struct conn *c = k->who.c;

	checkin_reply_audit(k, k->r, err == NULL ? "ok" : "unconfirmed");
	conn_job_end(&k->who);
	if (c != NULL && err != NULL)
		conn_error(c, "unavailable", "try again", 0);
	else if (c != NULL)
		conn_send(c,
		    json_pack("{s:s, s:s, s:s}", "type", "checkin",
		        "checkin_id", k->who.id, "state", k->state));
	conn_job_release(&k->who);
	free(k);
	if (c != NULL)
		conn_process(c);
}

static void
checkin_reply_replicated_cb(int ok, const char *err, void *arg)
{
	struct checkin_job *k = arg;

	if (!ok)
		log_warnx("checkin %s checkin=%s device=%s%s: not on enough "
		          "replicas: %s",
		    k->op, k->who.id, k->who.device_id, conn_job_gone(&k->who),
		    err);
	checkin_reply_finish(k, ok ? NULL : err);
}

/* As an alert (ingest.c): a start, extend or done that a failover could
 * lose is not answered as done.  0: waiting; -1: nothing to wait for. */
static int
checkin_reply_replicate(struct checkin_job *k)
{
	const struct relay_config *cfg = k->who.relay->cfg;

	if (cfg->redis_min_replicas <= 0)
		return -1;
	/* never cancelled: the job outlives its connection */
	store_wait_replicas(k->who.relay->store, cfg->redis_min_replicas,
	    cfg->redis_timeout * 1000, checkin_reply_replicated_cb, k);
	return 0;
}

/* What the script did, in the log at once: the duress warning must not
 * wait for the replicas, nor for the device. */
static void
checkin_reply_done(struct checkin_job *k, const json_t *reply, const char *r)
{
	const char *gone = conn_job_gone(&k->who);
	const char *state = json_str(reply, "state");

	log_info("checkin %s checkin=%s device=%s result=%s%s", k->op,
	    k->who.id, k->who.device_id, r, gone);
	k->duress = json_is_true(json_object_get(reply, "duress"));
	/* the operator's line; the device's answer is the real one */
	if (k->duress)
		log_warnx("checkin duress checkin=%s device=%s%s: %s under "
		          "duress; the alert is released now",
		    k->who.id, k->who.device_id, gone, k->op);
	snprintf(k->r, sizeof(k->r), "%s", r);
	snprintf(k->state, sizeof(k->state), "%s",
	    state != NULL ? state : "active");
	if (checkin_reply_replicate(k) != 0)
		checkin_reply_finish(k, NULL);
}

/* Too late with the duress PIN: answered as the own PIN is, at once,
 * while the alarm already raised becomes a duress alarm (a job of its
 * own); one that could not be raised leaves the operator a warning. */
static void
checkin_reply_late_duress(struct checkin_job *k, const json_t *reply,
    const char *r)
{
	if (!k->pin_duress)
		return;
	k->duress = 1; /* its record: checkin.duress */
	if (strcmp(r, "missed") == 0)
		checkin_duress_late(&k->who, k->op,
		    json_str(reply, "alert_id"));
	else if (strcmp(r, "unraised") == 0)
		log_warnx("checkin duress checkin=%s device=%s%s: %s under "
		          "duress, too late, and no alarm could be raised",
		    k->who.id, k->who.device_id, conn_job_gone(&k->who), k->op);
	else
		k->duress = 0;
}

/* A refusal that wrote nothing: recorded, answered at once. */
static void
checkin_reply_refused(struct checkin_job *k, const json_t *reply, const char *r)
{
	struct conn *c = k->who.c;

	if (strcmp(r, "releasing") == 0)
		log_info("checkin %s checkin=%s device=%s%s: its alarm is "
		         "being raised; answered unavailable",
		    k->op, k->who.id, k->who.device_id, conn_job_gone(&k->who));
	checkin_reply_late_duress(k, reply, r);
	if (strcmp(r, "unknown") != 0)
		checkin_reply_audit(k, r, "refused");
	conn_job_end(&k->who);
	conn_job_release(&k->who);
	free(k);
	if (c == NULL)
		return;
	checkin_reply_refusal(c, reply, r);
	conn_process(c);
}

/* No answer from Redis (lost, or the relay stopping): what it did is
 * not known, so nothing is audited. */
static void
checkin_reply_lost(struct checkin_job *k, const char *err)
{
	struct conn *c = k->who.c;

	log_warnx("checkin %s checkin=%s device=%s%s: %s", k->op, k->who.id,
	    k->who.device_id, conn_job_gone(&k->who),
	    err != NULL ? err : "no answer");
	conn_job_end(&k->who);
	conn_job_release(&k->who);
	free(k);
	if (c == NULL)
		return;
	conn_error(c, "unavailable", "try again", 0);
	conn_process(c);
}

static void
checkin_reply_cb(json_t *reply, const char *err, void *arg)
{
	struct checkin_job *k = arg;
	const char *r = json_str(reply, "r");

	if (reply == NULL || r == NULL)
		checkin_reply_lost(k, err);
	else if (strcmp(r, "ok") == 0 || strcmp(r, "dup") == 0)
		checkin_reply_done(k, reply, r);
	else
		checkin_reply_refused(k, reply, r);
}

void
checkin_reply_run(struct conn *c, const char *checkin_id, const char *op,
    int duress, const char *script, json_t *args)
{
	struct checkin_job *k = xcalloc(1, sizeof(*k));

	conn_job_init(&k->who, c, checkin_id);
	snprintf(k->op, sizeof(k->op), "%s", op);
	k->pin_duress = duress;
	conn_job_start(&k->who);
	store_eval(c->relay->store, script, args, checkin_reply_cb, k);
}
