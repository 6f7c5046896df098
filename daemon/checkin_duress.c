/*
 * A check-in's done or extend with the duress PIN that comes too late:
 * a relay already raised its alarm.  The device hears what the own PIN
 * hears ("too late", checkin_reply.c); the alarm it names becomes a
 * duress alarm as after a duress cancel (duress.c), without the cancel:
 * alert.duress to every tier at once, escalated until acknowledged.  A
 * job of its own, whether or not the device stays connected.
 */
#include "checkin_int.h"
#include "conn_int.h"
#include "duress.h"

/* script_duress's answer (quiet): its duress line came first
 * (duress.c); here the audit record, alert.duress as for a cancel. */
static void
checkin_duress_done(json_t *reply, const char *err, void *arg)
{
	struct conn_cancel *k = arg;
	const char *r = json_str(reply, "r");

	k->req = NULL;
	if (reply == NULL || r == NULL)
		log_warnx("checkin duress alert=%s device=%s: not marked "
		          "duress: %s",
		    k->who.id, k->who.device_id,
		    err != NULL ? err : "no answer");
	else if (json_is_true(json_object_get(reply, "duress")))
		conn_job_audit(&k->who, "alert.duress", "alert",
		    err == NULL ? "ok" : "unconfirmed", "checkin_late");
	else
		log_info("checkin duress alert=%s device=%s: result=%s",
		    k->who.id, k->who.device_id, r);
	json_decref(k->signed_cancel);
	conn_job_release(&k->who);
	free(k);
}

void
checkin_duress_late(const struct conn_job *who, const char *op,
    const char *alert_id)
{
	struct conn_cancel *k;

	/* the reply's alert id came from Redis: one of the form the
	 * relay writes, or nothing to mark */
	if (alert_id == NULL || !alert_id_valid(alert_id)) {
		log_warnx("checkin duress checkin=%s device=%s: %s under "
		          "duress, too late, and its alarm is not known",
		    who->id, who->device_id, op);
		return;
	}
	log_warnx("checkin duress checkin=%s device=%s%s: %s under duress, "
	          "too late: alert=%s is marked duress",
	    who->id, who->device_id, conn_job_gone(who), op, alert_id);
	k = xcalloc(1, sizeof(*k));
	conn_job_copy(&k->who, who, alert_id);
	k->signed_cancel = json_object();
	k->quiet = 1;
	k->done = checkin_duress_done;
	duress_cancel(k, 1);
}
