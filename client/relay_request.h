/*
 * One request and its one answer over an authenticated session (cancel,
 * status, list), with the retries and the deadline of a relay run.  The
 * same frame is sent on every attempt (frame_now may make it once the
 * first session verified the relay's directory).  alertctl runs it to the end
 * (relay_request_run); libalertclient puts its hooks on a run of its own
 * on the caller's loop (relay_request_op).
 */
#ifndef ALERTCTL_RELAY_REQUEST_H
#define ALERTCTL_RELAY_REQUEST_H

#include <jansson.h>

#include "device.h"
#include "relay_session.h"

struct relay_request {
	const json_t *frame; /* sent after authentication */
	const char *answer; /* the type of the answer: "cancelled" */
	const char *alert_id; /* the alert the answer must name, or NULL */
	const char *failure; /* "alert ... not cancelled", for messages */
	/* The answer came: print it; returns the exit code. */
	int (*answered)(const json_t *o, void *arg);
	void *arg;
	/* Optional: an error frame; the exit code when it ends the request
	 * (a refusal the command explains itself), else -1: the code is
	 * that relay's word, and the next relay is asked (relay_run.h). */
	int (*refused)(const json_t *o, void *arg);
	/* Optional: the run gave up; else that is logged. */
	void (*failed)(void *arg, int deadline, const char *why);
	/* Optional: the frame to send on this attempt, asked once the
	 * session is up and its directory verified; else frame. */
	const json_t *(*frame_now)(void *arg);
};

/* The exit code: the answer's, or EXIT_FAIL (logged; when every relay
 * answered with an error code and the last said "unknown_alert", as the
 * relay not knowing the alert). */
int relay_request_run(struct device *d, long timeout_s,
    const struct relay_request *req);

/* A request on a run the caller makes: *op gets the hooks, with rr as
 * their argument; req and rr must outlive the run. */
struct relay_request_run {
	const struct relay_request *req;
	long timeout_s;
	/* relay_request_run's, for the code that ended it; NULL on a
	 * caller's run (whose failed() asks its own) */
	struct relay_run *run;
};
void relay_request_op(struct relay_request_run *rr,
    const struct relay_request *req, long timeout_s, struct relay_op *op);

#endif
