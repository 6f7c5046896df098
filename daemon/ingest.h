/*
 * Accepting an alert: one script that stores it with its envelope hash
 * (to recognise resends), a short reference for SMS replies, the
 * notifications of its first tier and the timer of the next.
 */
#ifndef ALERTRELAY_INGEST_H
#define ALERTRELAY_INGEST_H

#include "envelope.h"
#include "store.h"

struct relay;

enum ingest_result {
	INGEST_NEW,
	INGEST_DUPLICATE,
	INGEST_CONFLICT,
	INGEST_UNAVAILABLE,
};

struct ingest_reply {
	enum ingest_result result;
	char relay_id[STORE_ID_MAX];
	char received_at[RFC3339_LEN];
	char ref[16]; /* ACK_REF_LEN letters */
	long max_age_s; /* the policy's: how long it escalates; 0: no limit */
	const char *error; /* with INGEST_UNAVAILABLE */
	int unconfirmed; /* with it: the master has it, too few replicas */
	int drill; /* the envelope said drill */
};

typedef void (*ingest_cb)(const struct ingest_reply *reply, void *arg);

struct ingest_req;

/* cb is called once, from the loop, unless the request is cancelled. */
struct ingest_req *ingest_alert(struct relay *relay, const struct envelope *env,
    const char *envelope_hash, ingest_cb cb, void *arg);
/* The same, for a check-in ended or extended under duress (duress 1):
 * stored as after a duress cancel, alert.duress to every tier at once. */
struct ingest_req *ingest_alert_as(struct relay *relay,
    const struct envelope *env, const char *envelope_hash, int duress,
    ingest_cb cb, void *arg);
void ingest_cancel(struct ingest_req *ir);
/* Appends fresh candidate references (random) to the array refs; the
 * script takes the first that is free. */
void ingest_refs(json_t *refs);

#endif
