/*
 * Who sent a device's request that outlives its connection (an alert
 * being stored, a cancel, a check-in, a location update, a supervised
 * device's deadline, the end of a supervision: conn_int.h, struct
 * conn_job):
 * copied from the connection when the request starts, so that what
 * Redis did is logged and audited as coming from that device and
 * address whether or not the connection is still there, and a stop
 * waits for it (stopjobs.h).
 */
#include "audit.h"
#include "conn_int.h"
#include "stopjobs.h"

void
conn_job_init(struct conn_job *who, struct conn *c, const char *id)
{
	who->relay = c->relay;
	who->c = c;
	snprintf(who->peer, sizeof(who->peer), "%s", c->peer);
	snprintf(who->device_id, sizeof(who->device_id), "%s", c->device_id);
	snprintf(who->id, sizeof(who->id), "%s", id);
	stopjobs_begin(who->relay->stopjobs);
}

void
conn_job_copy(struct conn_job *to, const struct conn_job *who, const char *id)
{
	*to = *who;
	to->c = NULL;
	snprintf(to->id, sizeof(to->id), "%s", id);
	stopjobs_begin(to->relay->stopjobs);
}

void
conn_job_release(struct conn_job *who)
{
	stopjobs_end(who->relay->stopjobs);
}

/* Only one such request runs per connection (conn_process waits for
 * it), so one pointer holds it. */
void
conn_job_start(struct conn_job *who)
{
	who->c->job = who;
}

void
conn_job_end(struct conn_job *who)
{
	if (who->c != NULL)
		who->c->job = NULL;
}

void
conn_job_detach(struct conn *c)
{
	if (c->job == NULL)
		return;
	c->job->c = NULL;
	c->job = NULL;
}

const char *
conn_job_gone(const struct conn_job *who)
{
	return who->c == NULL ? " device_gone=1" : "";
}

void
conn_job_audit(const struct conn_job *who, const char *action, const char *kind,
    const char *result, const char *reason)
{
	char actor[ID_MAX + 8], object[ID_MAX + 16];

	snprintf(actor, sizeof(actor), "device:%s", who->device_id);
	snprintf(object, sizeof(object), "%s:%s", kind, who->id);
	audit_relay(who->relay, action, object, result, who->peer, "tls", actor,
	    reason);
}
