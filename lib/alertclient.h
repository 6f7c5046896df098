/*
 * libalertclient: the alertrelay client's core as a library, for apps and
 * devices that raise alerts (a phone app, a desktop app, a panic button).
 * It opens a device's configuration (key, relays, pins, the organisation's
 * signed directory), seals and signs alerts to their recipients, keeps each
 * in the outbox so that a resend is the same bytes, delivers it over TLS 1.3
 * to the relays in turn, and follows its receipts, checking every
 * acknowledgement's signature against the directory.  man libalertclient(3).
 *
 * Rules of the API:
 *  - every name starts with ar_ (AR_ for constants);
 *  - functions return an enum ar_status (AR_OK is 0); ar_strerror() says
 *    what a status means;
 *  - handles are opaque and freed by their ar_*_free function;
 *  - a buffer the caller passes (char *buf, size_t len) stays the caller's;
 *    a pointer the library hands out (const char *, const struct ar_event *)
 *    stays the library's and is valid only for as long as each function
 *    says (an event: during its callback);
 *  - operations start on the caller's libevent loop (or the library's
 *    own, driven by ar_client_step()) and report through the callback;
 *    what a call still does on the calling thread is listed under
 *    BLOCKING in libalertclient(3);
 *  - each client keeps its own state (no state shared between clients
 *    beyond ar_init()); a client is used from one thread at a time (the
 *    one running its loop).  ar_init() once, before anything else.
 */
#ifndef ALERTCLIENT_H
#define ALERTCLIENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define AR_API __attribute__((visibility("default")))
#else
#define AR_API
#endif

#define AR_VERSION_MAJOR 1
#define AR_VERSION_MINOR 0
#define AR_VERSION_PATCH 0

/* What a function or an operation came to. */
enum ar_status {
	AR_OK = 0,
	AR_E_INVAL = 1, /* a NULL or malformed argument */
	AR_E_NOT_INIT = 2, /* ar_init() was not called (or failed) */
	AR_E_CONFIG = 3, /* the configuration cannot be used */
	AR_E_KEY = 4, /* the device key cannot be used */
	AR_E_TLS = 5, /* TLS cannot be set up */
	AR_E_NOSPACE = 6, /* a caller's buffer is too small */
	AR_E_SEAL = 7, /* the alert could not be sealed */
	AR_E_NO_DIRECTORY = 8, /* no signed directory, nobody to seal to */
	AR_E_EXISTS = 9, /* ar_enroll: a device is enrolled there already */
	AR_E_REFUSED = 10, /* a relay refused the request for good */
	AR_E_REVOKED = 11, /* the relays refuse this device */
	AR_E_TIMEOUT = 12, /* no relay answered in time */
	AR_E_UNKNOWN_ALERT = 13, /* the relay does not know the alert */
	AR_E_PIN = 14, /* a PIN is needed, or the PIN is wrong */
	AR_E_CLOSED = 15, /* the alert ended before what was awaited */
	AR_E_LOOP = 16, /* the loop failed, or is the caller's */
	AR_E_BUSY = 17, /* reserved: no function of this version returns it */
	AR_E_BUNDLE = 18, /* ar_enroll: the bundle cannot be used, or the
	                     files not written */
	AR_E_STORAGE = 19, /* ar_send: the alert is on its way but the
	                      outbox could not keep it for a resend */
};

/* Status text in English (static storage); "unknown status" for codes
 * this version does not know. */
AR_API const char *ar_strerror(int status);
/* "1.0.0" (static storage). */
AR_API const char *ar_version(void);
/*
 * Once per process, before any other call but ar_strerror and ar_version:
 * libsodium, the message catalogue (texts follow the caller's LC_MESSAGES;
 * the library never calls setlocale), and the library's diagnostics
 * (stderr, warnings and errors only; never secrets or alert content).
 * AR_OK, else AR_E_NOT_INIT.  Calling it again is harmless.
 */
AR_API int ar_init(void);

typedef struct ar_client ar_client;
/* libevent's loop (<event2/event.h>); only pointers to it are used. */
struct event_base;

/* What an event tells (struct ar_event.type). */
enum ar_event_type {
	AR_EV_PROGRESS = 1, /* a step: connecting, authenticated (text) */
	AR_EV_RESENDING, /* an earlier unsent alert of the outbox goes
	                    along (alert_id, created_at) */
	AR_EV_ACCEPTED, /* a relay made the alert durable (relay_id,
	                   duplicate) */
	AR_EV_DELIVERED, /* a recipient was notified (receipt) */
	AR_EV_RECEIPT, /* any other receipt: escalated, not reached */
	AR_EV_ACKNOWLEDGED, /* a person took the alert (operator, verified) */
	AR_EV_CANCELLED, /* the alert was cancelled */
	AR_EV_EXPIRED, /* the relay stopped escalating the alert */
	AR_EV_STATE, /* ar_status: the alert's state (state) */
	AR_EV_DONE, /* the operation ended as asked */
	AR_EV_FAILED, /* the operation ended otherwise (status,
	                 reason) */
};

/* The operation an event belongs to. */
enum ar_operation {
	AR_OP_SEND = 1,
	AR_OP_CANCEL,
	AR_OP_STATUS,
	AR_OP_FOLLOW,
};

/* What AR_EV_ACKNOWLEDGED's verified says. */
enum ar_ack_check {
	AR_ACK_VERIFIED = 1, /* signed by the recipient, for this alert */
	AR_ACK_RELAY = 2, /* the relay's word only (SMS, unsigned) */
	AR_ACK_UNVERIFIED = 3, /* the directory has no signing keys */
	AR_ACK_FORGED = 4, /* the signature is false: NOT an ack */
};

/*
 * One event.  Library-owned: every pointer in it is valid only during
 * the callback; copy what you keep.  Strings are UTF-8, made safe for a
 * terminal; a field that does not apply is NULL (strings) or 0.
 */
struct ar_event {
	int type; /* enum ar_event_type */
	int op; /* enum ar_operation */
	const char *alert_id; /* 32 hex digits */
	const char *text; /* one line for a person, in the
	                     catalogue's language */
	const char *event; /* the relay's word: "delivered" */
	const char *relay_id; /* AR_EV_ACCEPTED */
	int duplicate; /* AR_EV_ACCEPTED: the relay had it */
	const char *created_at; /* AR_EV_RESENDING: RFC 3339 */
	const char *operator_name; /* AR_EV_ACKNOWLEDGED: who, as the check
	                              found ("NAME (alias)"), else the relay's
	                              word */
	int verified; /* AR_EV_ACKNOWLEDGED: enum ar_ack_check;
	                 AR_EV_CANCELLED: AR_ACK_VERIFIED when the receipt
	                 carries this device's own signed cancel, else
	                 AR_ACK_RELAY */
	const char *state; /* AR_EV_STATE: open, acknowledged,
	                      cancelled, expired */
	int status; /* AR_EV_FAILED: enum ar_status */
	const char *reason; /* AR_EV_FAILED: why, for a person */
	const char *code; /* AR_EV_FAILED: the relay's error code
	                     ("revoked"), "cancelled" (this device's own
	                     signed cancel), "cancelled_relay" (a cancel
	                     only the relay says) or "expired" for a wait
	                     that ended so, else NULL */
};

typedef void (*ar_event_fn)(void *ctx, const struct ar_event *ev);

/* Caller-owned; copied by ar_client_new. */
struct ar_callbacks {
	/* Every event of every operation; may call any ar_ function, but
	 * ar_client_free only on AR_EV_DONE and AR_EV_FAILED (then nothing
	 * more of that client is told). */
	ar_event_fn on_event;
};

/*
 * Opens the device configured in config_path (the alertctl.conf format,
 * man alertctl(1); NULL: $ALERTCTL_CONF, else
 * ~/.config/alertrelay/alertctl.conf).  base: the caller's libevent
 * struct event_base, which must outlive the client; NULL: the library's
 * own, driven by ar_client_step().  ctx is passed to every callback.
 * *out is set to the new client (free with ar_client_free) or NULL.
 * why (may be NULL): the caller's buffer, set to why it failed, for a
 * person (the file and the problem), or "" on AR_OK.
 */
AR_API int ar_client_new(ar_client **out, const char *config_path,
    struct event_base *base, const struct ar_callbacks *callbacks, void *ctx,
    char *why, size_t why_len);
/* Ends every operation (no callback fires for them any more) and frees
 * the client.  NULL is fine.  From a callback only on AR_EV_DONE or
 * AR_EV_FAILED (any client's); never from another event's callback. */
AR_API void ar_client_free(ar_client *c);

/* Options (ar_client_set_option); values in seconds. */
enum ar_option {
	AR_OPT_TIMEOUT = 1, /* an alert must be accepted (or a request
	                       answered) within this; default 30 */
	AR_OPT_WAIT_TIMEOUT = 2, /* AR_SEND_WAIT_*: after accepted; default
	                            0, the alert's own lifetime at the relay */
};
AR_API int ar_client_set_option(ar_client *c, int option, long value);

/*
 * Step mode (a client opened with base NULL): runs the library's loop
 * once, waiting at most timeout_ms for something to happen (0: only what
 * is ready now).  Callbacks fire from inside.  AR_OK; AR_E_LOOP for a
 * client on the caller's loop.
 */
AR_API int ar_client_step(ar_client *c, int timeout_ms);
/* Number of operations under way (0: nothing left to step for). */
AR_API int ar_client_pending(const ar_client *c);

/* The device's id (library-owned, valid until ar_client_free). */
AR_API const char *ar_client_device_id(const ar_client *c);
/* Who to call when the relays refuse this device (the configuration's
 * contact), else NULL.  Library-owned, valid until ar_client_free. */
AR_API const char *ar_client_contact(const ar_client *c);
/* Why the last call that returned an error failed, for a person, or "".
 * Library-owned, valid until the next call on c. */
AR_API const char *ar_client_reason(const ar_client *c);

/* A position; accuracy_m < 0: unknown. */
struct ar_location {
	double lat, lon, accuracy_m;
};

/* ar_send flags. */
#define AR_SEND_DRILL 0x1u /* a rehearsal, marked so everywhere */
#define AR_SEND_AGAIN                                                          \
	0x2u /* alert_id (input) names the alert to                            \
	        send again: the same bytes from the                            \
	        outbox when the content is the same */
#define AR_SEND_WAIT_DELIVERED                                                 \
	0x4u /* follow until a recipient is                                    \
	        notified */
#define AR_SEND_WAIT_ACK 0x8u /* follow until a person acknowledged */
#define AR_SEND_ACCEPT_RELAY_ACK                                               \
	0x10u /* the relay's word ends a wait                                  \
	         for an ack too */

/* Length of an alert_id buffer: 32 hex digits and the NUL. */
#define AR_ALERT_ID_LEN 33

/*
 * Seals and signs an alert (type "panic", "threat" or "test"; message
 * NULL or UTF-8 up to 4096 bytes; loc NULL or a position), stores it in
 * the outbox (fsync'd) and starts delivering it, with the outbox's
 * earlier unsent alerts first.  Before returning, writes the alert_id
 * into the caller's alert_id buffer (alert_id_len >= AR_ALERT_ID_LEN):
 * from then on the alert is never lost (a later send delivers it).
 * AR_E_STORAGE: the outbox could not keep it (ar_client_reason says
 * why); it is being delivered all the same, with the events of AR_OK,
 * but if no relay accepts it now nothing sends it later.
 * Events: AR_EV_RESENDING, AR_EV_PROGRESS, AR_EV_ACCEPTED, then with
 * AR_SEND_WAIT_* the receipts, then AR_EV_DONE or AR_EV_FAILED.
 * *resent (may be NULL) is set to 1 when the outbox's bytes go again
 * (then the first event is an AR_EV_PROGRESS saying so).
 * A device that holds no signed directory yet (enrolled from a bundle
 * without one) has nobody to seal to: then the alert_id is returned, the
 * first session fetches and verifies the directory, and only then is the
 * alert sealed and stored (the one network step before the outbox).
 * On AR_E_SEAL the alert_id is written too, but nothing was stored.
 */
AR_API int ar_send(ar_client *c, const char *type, const char *message,
    const struct ar_location *loc, unsigned flags, char *alert_id,
    size_t alert_id_len, int *resent);

/*
 * Cancels an alert of this device.  pin: the device's PIN when it has a
 * PIN file (alertctl pincode), else NULL.  A duress PIN cancels exactly
 * as a real one does, to the caller and to anyone watching the screen.
 * The PIN is checked off the loop, on a thread of its own (Argon2id is
 * slow on purpose); a missing or wrong one ends the operation with
 * AR_EV_FAILED, status AR_E_PIN, nothing sent.  AR_E_CONFIG (returned)
 * for a PIN file that cannot be read.  After the PINs were changed with
 * the duress PIN (alertctl pincode), every cancel is a duress cancel,
 * and after they were cleared so, pin is not needed (NULL).  Events:
 * AR_EV_CANCELLED and AR_EV_DONE, or AR_EV_FAILED.
 */
AR_API int ar_cancel(ar_client *c, const char *alert_id, const char *pin);
/* 1 when this device shows PINs, so that ar_cancel needs a PIN (ask
 * for it the same way whichever PIN will be typed), else 0: no PIN file,
 * or one cleared with the duress PIN. */
AR_API int ar_client_needs_pin(const ar_client *c);

/* Asks the relay for an alert's state: its history as the events
 * ar_follow tells (AR_EV_DELIVERED, AR_EV_ACKNOWLEDGED with the device's
 * check, AR_EV_RECEIPT...), AR_EV_STATE, then AR_EV_DONE (or
 * AR_EV_FAILED). */
AR_API int ar_status(ar_client *c, const char *alert_id);

/* ar_follow flags. */
#define AR_FOLLOW_ACCEPT_RELAY_ACK                                             \
	0x1u /* the relay's word (AR_ACK_RELAY: an SMS reply) ends it too */

/* Follows an alert's receipts (each told once, also after reconnecting)
 * until it is acknowledged (AR_ACK_VERIFIED or AR_ACK_UNVERIFIED, and
 * AR_ACK_RELAY with AR_FOLLOW_ACCEPT_RELAY_ACK), cancelled or expired,
 * or AR_OPT_WAIT_TIMEOUT passed (when set).  Ends with AR_EV_DONE when
 * acknowledged, else AR_EV_FAILED (AR_E_CLOSED, code "cancelled",
 * "cancelled_relay" or "expired"). */
AR_API int ar_follow(ar_client *c, const char *alert_id, unsigned flags);

/* ar_enroll flags. */
#define AR_ENROLL_FORCE 0x1u /* replace an enrolled device's files */

/*
 * What `alertctl enroll BUNDLE` does, without a client: reads the
 * administrator's enrollment bundle and writes the device's key
 * (device.key), its configuration (config_path; NULL: $ALERTCTL_CONF,
 * else ~/.config/alertrelay/alertctl.conf) and the bundle's signed
 * directory (directory.signed) next to each other, mode 0600.  Nothing
 * is replaced without AR_ENROLL_FORCE (AR_E_EXISTS).  device_id (may be
 * NULL): the caller's buffer for the enrolled device's id (too small:
 * AR_E_NOSPACE, and nothing written).  Local files only; the caller deletes the
 * bundle, which holds the secret key. Then ar_client_new(config_path) opens the
 * device.
 */
AR_API int ar_enroll(const char *bundle_path, const char *config_path,
    unsigned flags, char *device_id, size_t device_id_len);

#ifdef __cplusplus
}
#endif

#endif
