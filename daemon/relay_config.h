/*
 * alertrelayd's configuration: an INI file (conf/alertrelayd.conf
 * documents every key).  Loading is all-or-nothing: relay_config_load()
 * either returns a complete, checked configuration or reports every
 * problem it found with file:line and returns NULL.
 */
#ifndef ALERTRELAY_RELAY_CONFIG_H
#define ALERTRELAY_RELAY_CONFIG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <sodium.h>

#include "directory.h"
#include "http_limits.h"
#include "policy.h"
#include "sms_gateway.h"
#include "sms_template.h"
#include "util.h"

struct device_entry {
	char id[ID_MAX + 1];
	char *alias;
	unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
	int revoked; /* listed in the directory as revoked */
	const struct dir_device *dir; /* its directory entry, or NULL */
	int line; /* where its section starts, for messages */
};

struct recipient_entry {
	char id[ID_MAX + 1];
	char *alias;
	unsigned char box_pk[crypto_box_PUBLICKEYBYTES];
	int has_box_pk;
	char *webhook_url; /* NULL: no webhook channel */
	char *webhook_secret_file;
	unsigned char *webhook_key; /* decoded whsec_, sodium_malloc'd */
	size_t webhook_key_len;
	char *sms; /* E.164 number, or NULL */
	char *sms_gateway; /* name of a [gateway] */
	char *ack_token_file;
	char *ack_token; /* sodium_malloc'd, or NULL */
	int line;
};

/* struct http_limits ([ack] and [admin]): common/http_limits.h. */

struct relay_config {
	char *path;

	/* [relay] */
	char *listen; /* comma-separated host:port list */
	char *instance_id;
	char *tls_cert;
	char *tls_key;
	long max_frame;
	long auth_timeout; /* seconds from accept to authenticated */
	long frame_timeout; /* seconds to finish a started frame */
	long send_timeout; /* seconds a device may leave 256 KiB unread */
	long keepalive; /* seconds idle before a ping; 0: none */
	long max_alert_age; /* older created_at: refused as stale (replay) */
	long max_clock_skew; /* created_at this far ahead is refused */
	long max_connections;
	long max_unauthenticated; /* connections not yet authenticated */
	long max_unauth_per_addr; /* the same, from one source address */
	long conn_rate, conn_burst; /* per source address, per second */
	long alert_rate, alert_burst; /* per device, per minute */
	long addr_alert_rate, addr_alert_burst; /* per source, per minute */
	long device_conn_rate, device_conn_burst; /* sessions per device */
	long max_sessions_per_device; /* held at once; the oldest gives way */
	long reserve_fds; /* kept for Redis, deliveries...; 0: automatic */
	long workers; /* worker processes (workers.h); 1: no parent */
	int log_level;
	char *user; /* "" when not set */
	char *spool_dir; /* "" when there is no local spool */
	char *directory_path; /* signed directory, "" when not used */
	char *org_key_text; /* base64 organisation public key, or a file */
	unsigned char org_pk[crypto_sign_PUBLICKEYBYTES]; /* decoded */
	struct directory *dir; /* verified; NULL without directory_path */

	/* [checkin] (checkin.h) */
	long checkin_max_duration; /* minutes from start to release, at most */
	long checkin_remind_before; /* seconds before the deadline; 0: none */
	long checkin_max_bytes; /* of one signed, sealed prepared alert */
	long checkin_rate, checkin_burst; /* requests per device per hour */
	/* [location] (location.h) */
	long location_enabled; /* 1: take updates (hello lists "location") */
	long location_min_interval; /* seconds between updates of an alert */
	long location_max_updates; /* per alert, then refused */
	long location_keep; /* updates kept per alert, the newest */

	/* [supervision] (supervise.h) */
	long supervision_min_interval, supervision_max_interval; /* seconds */
	long supervision_grace; /* seconds beyond the interval */
	char *supervision_notify; /* recipient ids; "": the panic policy's */

	/* [ack] */
	char *ack_listen; /* HTTPS, "" to disable */
	char *ack_listen_plain; /* plain HTTP, loopback only, "" to disable */
	/* failed SMS replies: per number and per gateway (ack_limit.h) */
	long ack_sms_fail_burst, ack_sms_fail_interval;
	long ack_gateway_fail_burst, ack_gateway_fail_interval;
	/* HTTPS requests per recipient (ack_rate.h): burst, then a second */
	long ack_recipient_burst, ack_recipient_rate;
	struct http_limits ack_limits; /* each of the two, separately */

	/* [admin] */
	char *admin_listen; /* "" to disable */
	char *admin_token_file; /* "" when not set: POST /reload refused */
	char *admin_token; /* read from it; sodium_malloc'd, or NULL */
	struct http_limits admin_limits;

	/* [redis] */
	char *redis_address;
	char *redis_prefix;
	char *redis_sentinels; /* "" unless the master is found by Sentinel */
	char *redis_master;
	long redis_min_replicas; /* WAIT for these before "accepted" */
	long redis_timeout; /* seconds for connect and each command */

	/* [delivery] */
	long connect_timeout;
	long request_timeout;
	long retry_initial_ms;
	long retry_max_ms;
	/* how long an SMS's delivery report is waited for (s) */
	long sms_report_timeout;
	long max_inflight;
	long max_attempts; /* then the delivery is given up (dead letter) */
	long claim_idle_ms; /* a delivery idle this long is taken over */
	long shutdown_timeout; /* seconds to let deliveries finish */
	char *timezone; /* for times in SMS texts */
	char *sms_language; /* "nl" or "en": the built-in SMS texts */
	char *sms_templates[SMS_TPL_N]; /* "": the language's built-in */
	long sms_hint_interval; /* minutes between hints to one number */
	long duress_repeat; /* seconds between duress repeats, no `repeat` */
	long duress_repeat_max; /* seconds after the duress: no more repeats */

	/* [retention] (retention.h): seconds after an alert's close */
	long ret_content; /* ciphertexts */
	long ret_history; /* routing metadata, events, notified */
	long ret_index; /* the device's list of its alerts */
	long ret_deadletter; /* dead letters, after they were given up */
	long ret_sms_refs; /* short references for SMS replies */
	long ret_audit; /* audit records, after they were written */
	long ret_sweep_interval; /* seconds between sweeps */

	/* [audit] (audit.h) */
	char *audit_key_file; /* Ed25519 secret key; "": heads unsigned */
	char *audit_file; /* append-only copy; "": none */
	long audit_sign_every; /* sign the head every N records */

	struct device_entry *devices; /* sorted by id */
	size_t ndevices;
	struct recipient_entry *recipients; /* sorted by id */
	size_t nrecipients;
	struct sms_gateway *gateways;
	size_t ngateways;
	struct policy *policies;
	size_t npolicies;
};

/* The SMS template of kind in force ([delivery] sms_template_*, else
 * the built-in of [delivery] language), and that language in *lang. */
const char *relay_config_sms_template(const struct relay_config *cfg,
    enum sms_template_kind kind, enum sms_language *lang);

/* The entry of recipient id, added (unsorted) when there is none yet. */
struct recipient_entry *relay_config_recipient_entry(struct relay_config *cfg,
    const char *id, int line);

/* One problem, as "file:line: text" on a line of its own. */
void relay_config_vreport(FILE *errout, const char *path, int line,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/* Problems are written to errout, one per line, as "file:line: text". */
struct relay_config *relay_config_load(const char *path, FILE *errout);
void relay_config_free(struct relay_config *cfg);

/* 1 when [section] key has the same value in a and b, 0 when not, -1
 * when the table has no such key. */
int relay_config_same(const struct relay_config *a,
    const struct relay_config *b, const char *section, const char *key);

const struct device_entry *relay_config_device(const struct relay_config *cfg,
    const char *id);
const struct recipient_entry *
relay_config_recipient(const struct relay_config *cfg, const char *id);

const struct sms_gateway *relay_config_gateway(const struct relay_config *cfg,
    const char *name);

#endif
