/*
 * What libalertclient's files share behind the public API: the client,
 * its operations (one relay run each), and how events reach the caller.
 * Nothing here is exported (lib/alertclient.map).
 */
#ifndef AR_INTERNAL_H
#define AR_INTERNAL_H

#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "alert.h"
#include "ack_verify.h"
#include "alert_seal.h"
#include "alertclient.h"
#include "device.h"
#include "pinfile.h"
#include "relay_request.h"
#include "relay_run.h"
#include "resend.h"

#define AR_REASON_MAX 1024

struct ar_follow;

struct ar_op {
	struct ar_client *c;
	struct ar_op *next, *prev;
	int kind; /* enum ar_operation */
	char alert_id[AR_ALERT_ID_LEN];
	struct relay_op rop;
	struct relay_run *run;
	/* How it ended, told by the run's end (ar_op_ended). */
	int status;
	char reason[AR_REASON_MAX];
	char code[32];
	/* send */
	unsigned flags;
	struct alert a; /* the plaintext, for a new sealing */
	struct resend *queue;
	size_t mine;
	int accepted;
	int resealed;
	int hold; /* our outbox entry held (outbox.h), OUTBOX_NOT_KEPT or -1 */
	long long sealed_dir; /* the dir_version the alert was sealed to */
	long wait_s;
	int fetching; /* no directory yet: the session brings one first */
	int resent; /* the outbox's bytes go again */
	/* send with a wait, follow */
	struct ar_follow *follow;
	/* cancel, status: one request (relay_request.h) */
	json_t *frame;
	struct relay_request req;
	struct relay_request_run rr;
	int v2; /* a cancel behind a PIN */
	int older_relay; /* a relay answered the v2 cancel bad_signature */
	struct ar_pin *pin; /* its check, under way on a thread */
	int held; /* the run waits for ar_op_release() */
	int kicked; /* begin ran */
	/* Sets status and reason from the run's exit code; NULL: EXIT_OK
	 * is AR_OK, else what ar_op_fail() said. */
	void (*finish)(struct ar_op *op, int exit_code);
	/* Optional: from the loop, before the first connection. */
	void (*begin)(struct ar_op *op);
	struct event *kick; /* runs begin, then the relay run */
	struct sealed_alert *sealed; /* send, until begin queues it */
};

struct ar_client {
	/* Shared by its operations' runs: a newer directory one of them
	 * verifies is in force for all from then on (trust.h). */
	struct device d;
	struct event_base *base;
	int own_base;
	struct ar_callbacks cb;
	void *ctx;
	long timeout_s;
	long wait_timeout_s;
	struct ar_op *ops;
	int nops;
	int stepping; /* inside ar_client_step */
	int free_pending; /* ar_client_free from a callback of a step */
	struct event *wake; /* bounds ar_client_step's wait */
	/* made at the first operation, shared by all of them */
	struct relay_run_shared shared;
	int have_shared;
	char why[AR_REASON_MAX]; /* ar_client_reason() */
};

/* 1 once ar_init() succeeded. */
int ar_initialised(void);
/* Times in texts from now on in c's zone ([client] timezone): called
 * before the library formats one (the zone is per thread, ltime.h). */
void ar_client_zone(const struct ar_client *c);
/* Tells ev (its op and alert_id filled from op) to the caller. */
void ar_emit(struct ar_op *op, struct ar_event *ev);
/* A line for a person (AR_EV_PROGRESS); also relay_run_say's hook. */
void ar_say(void *op, const char *line);
/* A new operation of kind on alert_id (NULL: none yet), linked to c. */
struct ar_op *ar_op_new(struct ar_client *c, int kind, const char *alert_id);
/* Starts op's relay run on the client's loop; AR_OK or AR_E_TLS (op
 * freed then). */
int ar_op_start(struct ar_op *op, long timeout_s);
/* The run ended with exit_code: the last event, then op is freed. */
void ar_op_free(struct ar_op *op);
/* A held op's run goes on (now, or when the kick comes). */
void ar_op_release(struct ar_op *op);
/* Ends op without (more of) its run: the last event, then op is freed. */
void ar_op_end(struct ar_op *op, int exit_code);
/* Ends the op's session with failure status and reason. */
void ar_op_fail(struct ar_op *op, int status, const char *code,
    const char *reason);

/* ar_outcome.c: the status an operation ends with. */
/* What the last relay's code says when the run gave up (its failed()):
 * AR_E_REVOKED when it shuts the device out (relay_code_shut_out),
 * AR_E_UNKNOWN_ALERT for "unknown_alert" before the deadline, else
 * AR_E_TIMEOUT at the deadline, AR_E_REFUSED before it. */
int ar_outcome_failed(const char *code, int deadline);
/* The status of a run that ended with exit_code: AR_OK on EXIT_OK,
 * else the one its failure set (ar_op_fail), else fallback. */
int ar_outcome_ended(int status, int exit_code, int fallback);

/* ar_follow.c: following an alert's receipts (send with a wait, and
 * ar_follow). */
struct ar_follow *ar_follow_new(struct ar_op *op, int until_ack,
    int accept_relay);
void ar_follow_free(struct ar_follow *f);
void ar_follow_accepted(struct ar_follow *f, struct relay_session *s,
    int duplicate);
void ar_follow_ready(struct ar_follow *f, struct relay_session *s);
void ar_follow_frame(struct ar_follow *f, struct relay_session *s,
    const char *type, const json_t *o);
/* Tells receipt event ev of op's alert as its typed event (an
 * acknowledgement with the device's check, into *c when not NULL);
 * the event's verified (enum ar_ack_check: a cancel's AR_ACK_VERIFIED
 * when it carries this device's own signed cancel), 0 for the rest. */
int ar_tell_receipt(struct ar_op *op, const json_t *ev, struct ack_check *c);

/* ar_pin.c: pinfile_check() on a thread; done() on the client's loop
 * after it.  NULL when no thread can be started (logged). */
struct pinfile;
struct ar_pin *ar_pin_start(struct ar_op *op, const struct pinfile *pf,
    const char *pin, void (*done)(struct ar_op *op, enum pin_match m));
void ar_pin_free(struct ar_pin *p);

/* ar_send_seal.c: the alert built, sealed and kept in the outbox;
 * AR_E_NO_DIRECTORY with the alert built when a directory must be
 * fetched first. */
int ar_send_seal(struct ar_op *op, int again, int *resent,
    struct sealed_alert *s);
int ar_send_prepare(struct ar_op *op, const char *type, const char *message,
    const struct ar_location *loc, const char *again_id, int *resent,
    struct sealed_alert *sealed);

#endif
