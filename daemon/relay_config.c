/*
 * Table-driven configuration.  Each plain key has a type, a default and
 * bounds; [device ID] and [recipient ID] sections build the directory of
 * enrolled devices and recipients.  Unknown sections and keys are errors.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>

#include "b64.h"
#include "frame.h"
#include "keyfile.h"
#include "log.h"
#include "netaddr.h"
#include "redis_conn.h"
#include "phone.h"
#include "relay_config.h"
#include "relay_config_int.h"
#include "relay_directory.h"
#include "workers.h"
#include "xmalloc.h"

enum opt_type { OPT_STRING, OPT_PATH, OPT_INT, OPT_LEVEL };

struct opt {
	const char *section;
	const char *key;
	enum opt_type type;
	size_t offset;
	const char *def; /* NULL: required, or computed (instance_id) */
	long min, max;
};

#define O(f) offsetof(struct relay_config, f)
static const struct opt opts[] = {
    {"relay", "listen", OPT_STRING, O(listen), "127.0.0.1:7443", 0, 0},
    {"relay", "instance_id", OPT_STRING, O(instance_id), "", 0, 0},
    {"relay", "tls_cert", OPT_PATH, O(tls_cert), NULL, 0, 0},
    {"relay", "tls_key", OPT_PATH, O(tls_key), NULL, 0, 0},
    {"relay", "max_frame", OPT_INT, O(max_frame), "65536", 1024,
        FRAME_MAX_LIMIT},
    {"relay", "auth_timeout", OPT_INT, O(auth_timeout), "10", 1, 300},
    {"relay", "keepalive", OPT_INT, O(keepalive), "30", 0, 3600},
    {"relay", "max_alert_age", OPT_INT, O(max_alert_age), "2592000", 60,
        31536000},
    {"relay", "max_clock_skew", OPT_INT, O(max_clock_skew), "600", 0, 86400},
    {"relay", "frame_timeout", OPT_INT, O(frame_timeout), "10", 1, 300},
    {"relay", "send_timeout", OPT_INT, O(send_timeout), "60", 1, 3600},
    {"relay", "max_connections", OPT_INT, O(max_connections), "20000", 1,
        1000000},
    {"relay", "user", OPT_STRING, O(user), "", 0, 0},
    {"relay", "spool_dir", OPT_PATH, O(spool_dir), "", 0, 0},
    {"relay", "directory", OPT_PATH, O(directory_path), "", 0, 0},
    {"relay", "org_key", OPT_STRING, O(org_key_text), "", 0, 0},
    {"relay", "max_unauthenticated", OPT_INT, O(max_unauthenticated), "10000",
        1, 1000000},
    {"relay", "max_unauthenticated_per_address", OPT_INT,
        O(max_unauth_per_addr), "256", 1, 1000000},
    {"relay", "conn_rate", OPT_INT, O(conn_rate), "100", 0, 100000},
    {"relay", "conn_burst", OPT_INT, O(conn_burst), "1000", 1, 100000},
    {"relay", "alert_rate", OPT_INT, O(alert_rate), "60", 0, 100000},
    {"relay", "alert_burst", OPT_INT, O(alert_burst), "60", 1, 100000},
    {"relay", "addr_alert_rate", OPT_INT, O(addr_alert_rate), "600", 0,
        1000000},
    {"relay", "addr_alert_burst", OPT_INT, O(addr_alert_burst), "600", 1,
        1000000},
    {"relay", "device_conn_rate", OPT_INT, O(device_conn_rate), "60", 0,
        100000},
    {"relay", "device_conn_burst", OPT_INT, O(device_conn_burst), "30", 1,
        100000},
    {"relay", "max_sessions_per_device", OPT_INT, O(max_sessions_per_device),
        "8", 1, 1000},
    {"relay", "log_level", OPT_LEVEL, O(log_level), "info", 0, 0},
    /* check-in timers and supervision (checkin.h, supervise.h) */
    {"checkin", "max_duration", OPT_INT, O(checkin_max_duration), "1440", 1,
        10080},
    {"checkin", "remind_before", OPT_INT, O(checkin_remind_before), "300", 0,
        86400},
    {"checkin", "max_bytes", OPT_INT, O(checkin_max_bytes), "32768", 1024,
        FRAME_MAX_LIMIT},
    {"checkin", "rate", OPT_INT, O(checkin_rate), "30", 0, 100000},
    {"checkin", "burst", OPT_INT, O(checkin_burst), "10", 1, 100000},
    /* later positions of an open alert (location.h) */
    {"location", "enabled", OPT_INT, O(location_enabled), "1", 0, 1},
    {"location", "min_interval", OPT_INT, O(location_min_interval), "10", 1,
        3600},
    {"location", "max_updates", OPT_INT, O(location_max_updates), "720", 0,
        100000},
    {"location", "keep", OPT_INT, O(location_keep), "10", 1, 1000},
    {"supervision", "min_interval", OPT_INT, O(supervision_min_interval), "10",
        1, 86400},
    {"supervision", "max_interval", OPT_INT, O(supervision_max_interval),
        "3600", 1, 86400},
    {"supervision", "grace", OPT_INT, O(supervision_grace), "30", 0, 86400},
    {"supervision", "notify", OPT_STRING, O(supervision_notify), "", 0, 0},
    {"admin", "listen", OPT_STRING, O(admin_listen), "", 0, 0},
    {"admin", "token_file", OPT_PATH, O(admin_token_file), "", 0, 0},
    {"ack", "sms_fail_burst", OPT_INT, O(ack_sms_fail_burst), "5", 1, 1000},
    {"ack", "sms_fail_interval", OPT_INT, O(ack_sms_fail_interval), "600", 1,
        86400},
    {"ack", "gateway_fail_burst", OPT_INT, O(ack_gateway_fail_burst), "50", 1,
        100000},
    {"ack", "gateway_fail_interval", OPT_INT, O(ack_gateway_fail_interval),
        "60", 1, 86400},
    {"ack", "recipient_burst", OPT_INT, O(ack_recipient_burst), "30", 1, 10000},
    {"ack", "recipient_rate", OPT_INT, O(ack_recipient_rate), "5", 1, 1000},
    {"ack", "listen", OPT_STRING, O(ack_listen), "", 0, 0},
    {"ack", "listen_plain", OPT_STRING, O(ack_listen_plain), "", 0, 0},
    {"redis", "address", OPT_STRING, O(redis_address), "127.0.0.1:6379", 0, 0},
    {"redis", "sentinels", OPT_STRING, O(redis_sentinels), "", 0, 0},
    {"redis", "master_name", OPT_STRING, O(redis_master), "mymaster", 0, 0},
    {"redis", "min_replicas", OPT_INT, O(redis_min_replicas), "0", 0, 16},
    {"redis", "prefix", OPT_STRING, O(redis_prefix), "alertrelay", 0, 0},
    {"redis", "timeout", OPT_INT, O(redis_timeout), "5", 1, 60},
    {"delivery", "connect_timeout", OPT_INT, O(connect_timeout), "5", 1, 60},
    {"delivery", "request_timeout", OPT_INT, O(request_timeout), "15", 1, 300},
    {"delivery", "retry_initial_ms", OPT_INT, O(retry_initial_ms), "500", 10,
        600000},
    {"delivery", "retry_max_ms", OPT_INT, O(retry_max_ms), "60000", 100,
        3600000},
    {"delivery", "max_inflight", OPT_INT, O(max_inflight), "10000", 1, 1000000},
    {"delivery", "max_attempts", OPT_INT, O(max_attempts), "10", 1, 1000},
    {"delivery", "sms_report_timeout", OPT_INT, O(sms_report_timeout), "300", 1,
        86400},
    {"delivery", "claim_idle_ms", OPT_INT, O(claim_idle_ms), "15000", 1000,
        600000},
    {"relay", "shutdown_timeout", OPT_INT, O(shutdown_timeout), "10", 0, 300},
    {"delivery", "timezone", OPT_STRING, O(timezone), "Europe/Amsterdam", 0, 0},
    /* SMS texts (sms_template.h); checked in config_check_templates. */
    {"delivery", "language", OPT_STRING, O(sms_language), "nl", 0, 0},
    {"delivery", "sms_template_raised", OPT_STRING,
        O(sms_templates[SMS_TPL_RAISED]), "", 0, 0},
    {"delivery", "sms_template_escalated", OPT_STRING,
        O(sms_templates[SMS_TPL_ESCALATED]), "", 0, 0},
    {"delivery", "sms_template_acknowledged", OPT_STRING,
        O(sms_templates[SMS_TPL_ACKNOWLEDGED]), "", 0, 0},
    {"delivery", "sms_template_confirmed", OPT_STRING,
        O(sms_templates[SMS_TPL_CONFIRMED]), "", 0, 0},
    {"delivery", "sms_template_cancelled", OPT_STRING,
        O(sms_templates[SMS_TPL_CANCELLED]), "", 0, 0},
    {"delivery", "sms_template_hint", OPT_STRING,
        O(sms_templates[SMS_TPL_HINT]), "", 0, 0},
    {"delivery", "sms_template_duress", OPT_STRING,
        O(sms_templates[SMS_TPL_DURESS]), "", 0, 0},
    {"delivery", "duress_repeat", OPT_INT, O(duress_repeat), "300", 1, 86400},
    {"delivery", "duress_repeat_max", OPT_INT, O(duress_repeat_max), "259200",
        1, 2592000},
    {"delivery", "sms_hint_interval", OPT_INT, O(sms_hint_interval), "60", 1,
        10080},
    /* Descriptors and the HTTP listeners' limits (fdbudget.h,
     * http_guard.h). */
    {"relay", "reserve_fds", OPT_INT, O(reserve_fds), "0", 0, 1000000},
    /* Worker processes, each its own event loop (workers.h). */
    {"relay", "workers", OPT_INT, O(workers), "1", 1, WORKERS_MAX},
    {"ack", "max_connections", OPT_INT, O(ack_limits.max_conns), "256", 1,
        1000000},
    {"ack", "max_connections_per_address", OPT_INT, O(ack_limits.max_per_addr),
        "8", 1, 1000000},
    {"ack", "conn_rate", OPT_INT, O(ack_limits.conn_rate), "20", 0, 100000},
    {"ack", "conn_burst", OPT_INT, O(ack_limits.conn_burst), "100", 1, 100000},
    {"ack", "request_timeout", OPT_INT, O(ack_limits.request_timeout), "10", 1,
        300},
    {"admin", "max_connections", OPT_INT, O(admin_limits.max_conns), "16", 1,
        1000000},
    {"admin", "max_connections_per_address", OPT_INT,
        O(admin_limits.max_per_addr), "8", 1, 1000000},
    {"admin", "conn_rate", OPT_INT, O(admin_limits.conn_rate), "20", 0, 100000},
    {"admin", "conn_burst", OPT_INT, O(admin_limits.conn_burst), "50", 1,
        100000},
    {"admin", "request_timeout", OPT_INT, O(admin_limits.request_timeout), "5",
        1, 300},
    /* Retention per data class (retention.h), counted from an alert's
     * close; the audit log (audit.h). */
    {"retention", "alert_content", OPT_INT, O(ret_content), "1209600", 1,
        315360000},
    {"retention", "alert_history", OPT_INT, O(ret_history), "7776000", 1,
        315360000},
    {"retention", "device_index", OPT_INT, O(ret_index), "7776000", 1,
        315360000},
    {"retention", "dead_letters", OPT_INT, O(ret_deadletter), "1209600", 1,
        315360000},
    {"retention", "sms_references", OPT_INT, O(ret_sms_refs), "604800", 1,
        315360000},
    {"retention", "audit_log", OPT_INT, O(ret_audit), "31536000", 1, 315360000},
    {"retention", "sweep_interval", OPT_INT, O(ret_sweep_interval), "60", 1,
        3600},
    {"audit", "key_file", OPT_PATH, O(audit_key_file), "", 0, 0},
    {"audit", "file", OPT_PATH, O(audit_file), "", 0, 0},
    {"audit", "sign_every", OPT_INT, O(audit_sign_every), "100", 1, 1000000},
};
#undef O
#define NOPTS (sizeof(opts) / sizeof(opts[0]))
_Static_assert(NOPTS <= RELAY_CONFIG_NOPTS_MAX, "raise RELAY_CONFIG_NOPTS_MAX");

void
relay_config_vreport(FILE *errout, const char *path, int line, const char *fmt,
    va_list ap)
{
	fprintf(errout, "%s:%d: ", path, line);
	vfprintf(errout, fmt, ap);
	fputc('\n', errout);
}

void
config_error(struct config_parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	relay_config_vreport(p->errout, p->cfg->path, line, fmt, ap);
	va_end(ap);
	p->errors++;
}

/* "cred:NAME" or a path; relative paths are relative to the file. */
static char *
config_path(struct config_parse *p, const char *value)
{
	char err[512], *path;

	if ((path = keyfile_path(p->dir, value, err, sizeof(err))) != NULL)
		return path;
	config_error(p, p->line, "%s", err);
	return xstrdup("");
}

static int
config_set_opt(struct config_parse *p, const struct opt *o, const char *value,
    int line)
{
	char *base = (char *)p->cfg + o->offset;
	long v;

	switch (o->type) {
	case OPT_STRING:
	case OPT_PATH:
		free(*(char **)base);
		*(char **)base = o->type == OPT_PATH ? config_path(p, value)
		                                     : xstrdup(value);
		return 0;
	case OPT_INT:
		if (parse_long(value, o->min, o->max, &v) != 0) {
			config_error(p, line, "%s must be an integer %ld..%ld",
			    o->key, o->min, o->max);
			return -1;
		}
		*(long *)base = v;
		return 0;
	case OPT_LEVEL:
		if ((v = log_level_parse(value)) < 0) {
			config_error(p, line,
			    "log_level must be error, warning, notice, info "
			    "or debug");
			return -1;
		}
		*(int *)base = (int)v;
		return 0;
	}
	return -1;
}

static struct device_entry *
config_device(struct config_parse *p, const char *id)
{
	struct relay_config *cfg = p->cfg;
	size_t i;

	for (i = 0; i < cfg->ndevices; i++)
		if (strcmp(cfg->devices[i].id, id) == 0)
			return &cfg->devices[i];
	cfg->devices = xreallocarray(cfg->devices, cfg->ndevices + 1,
	    sizeof(*cfg->devices));
	memset(&cfg->devices[cfg->ndevices], 0, sizeof(*cfg->devices));
	snprintf(cfg->devices[cfg->ndevices].id, ID_MAX + 1, "%s", id);
	cfg->devices[cfg->ndevices].line = p->line;
	return &cfg->devices[cfg->ndevices++];
}

struct recipient_entry *
relay_config_recipient_entry(struct relay_config *cfg, const char *id, int line)
{
	size_t i;

	for (i = 0; i < cfg->nrecipients; i++)
		if (strcmp(cfg->recipients[i].id, id) == 0)
			return &cfg->recipients[i];
	cfg->recipients = xreallocarray(cfg->recipients, cfg->nrecipients + 1,
	    sizeof(*cfg->recipients));
	memset(&cfg->recipients[cfg->nrecipients], 0, sizeof(*cfg->recipients));
	snprintf(cfg->recipients[cfg->nrecipients].id, ID_MAX + 1, "%s", id);
	cfg->recipients[cfg->nrecipients].line = line;
	return &cfg->recipients[cfg->nrecipients++];
}

static void
config_set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
}

/* A number as people write it ("06 1234 5678") is taken as E.164, and
 * -t says so; one of no real length is refused with an example. */
static void
config_recipient_sms(struct config_parse *p, struct recipient_entry *r,
    const char *id, const char *value)
{
	char e164[PHONE_MAX];
	enum phone_result res = phone_normalise(value, e164);

	if (res != PHONE_OK && res != PHONE_NORMALISED) {
		config_error(p, p->line,
		    "recipient %s: sms '%s': %s; for example " PHONE_EXAMPLE,
		    id, value, phone_problem(res));
		return;
	}
	if (res == PHONE_NORMALISED)
		fprintf(p->errout,
		    "%s:%d: note: recipient %s: sms '%s' taken "
		    "as %s\n",
		    p->cfg->path, p->line, id, value, e164);
	config_set_string(&r->sms, e164);
}

static void
config_device_key(struct config_parse *p, const char *id, const char *name,
    const char *value)
{
	struct device_entry *d = config_device(p, id);

	if (strcmp(name, "alias") == 0)
		config_set_string(&d->alias, value);
	else if (strcmp(name, "public_key") == 0) {
		if (b64_decode_exact(value, d->sign_pk, sizeof(d->sign_pk)) !=
		    0)
			config_error(p, p->line,
			    "device %s: public_key is not a base64 Ed25519 "
			    "public key",
			    id);
	} else
		config_error(p, p->line, "unknown key %s in [device %s]", name,
		    id);
}

static int
config_url_valid(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int ok;

	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "https") == 0 || strcmp(scheme, "http") == 0);
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

static void
config_recipient_key(struct config_parse *p, const char *id, const char *name,
    const char *value)
{
	struct recipient_entry *r =
	    relay_config_recipient_entry(p->cfg, id, p->line);

	if (strcmp(name, "alias") == 0)
		config_set_string(&r->alias, value);
	else if (strcmp(name, "public_key") == 0) {
		r->has_box_pk =
		    b64_decode_exact(value, r->box_pk, sizeof(r->box_pk)) == 0;
		if (!r->has_box_pk)
			config_error(p, p->line,
			    "recipient %s: public_key is not a base64 X25519 "
			    "public key",
			    id);
	} else if (strcmp(name, "webhook_url") == 0) {
		if (!config_url_valid(value))
			config_error(p, p->line,
			    "recipient %s: webhook_url is not an http(s) URL",
			    id);
		config_set_string(&r->webhook_url, value);
	} else if (strcmp(name, "webhook_secret_file") == 0) {
		free(r->webhook_secret_file);
		r->webhook_secret_file = config_path(p, value);
	} else if (strcmp(name, "sms") == 0) {
		config_recipient_sms(p, r, id, value);
	} else if (strcmp(name, "sms_gateway") == 0)
		config_set_string(&r->sms_gateway, value);
	else if (strcmp(name, "ack_token_file") == 0) {
		free(r->ack_token_file);
		r->ack_token_file = config_path(p, value);
	} else
		config_error(p, p->line, "unknown key %s in [recipient %s]",
		    name, id);
}

static struct sms_gateway *
config_gateway(struct config_parse *p, const char *id)
{
	struct relay_config *cfg = p->cfg;
	size_t i;

	for (i = 0; i < cfg->ngateways; i++)
		if (strcmp(cfg->gateways[i].name, id) == 0)
			return &cfg->gateways[i];
	cfg->gateways = xreallocarray(cfg->gateways, cfg->ngateways + 1,
	    sizeof(*cfg->gateways));
	memset(&cfg->gateways[cfg->ngateways], 0, sizeof(*cfg->gateways));
	snprintf(cfg->gateways[cfg->ngateways].name, ID_MAX + 1, "%s", id);
	cfg->gateways[cfg->ngateways].line = p->line;
	return &cfg->gateways[cfg->ngateways++];
}

static struct policy *
config_policy(struct config_parse *p, const char *id)
{
	struct relay_config *cfg = p->cfg;
	size_t i;

	for (i = 0; i < cfg->npolicies; i++)
		if (strcmp(cfg->policies[i].name, id) == 0)
			return &cfg->policies[i];
	cfg->policies = xreallocarray(cfg->policies, cfg->npolicies + 1,
	    sizeof(*cfg->policies));
	memset(&cfg->policies[cfg->npolicies], 0, sizeof(*cfg->policies));
	snprintf(cfg->policies[cfg->npolicies].name, ID_MAX + 1, "%s", id);
	cfg->policies[cfg->npolicies].line = p->line;
	return &cfg->policies[cfg->npolicies++];
}

/* [device ID], [recipient ID], [gateway NAME], [policy NAME] */
static int
config_named_section(struct config_parse *p, const char *section,
    const char *name, const char *value)
{
	static const char *const kinds[] = {"device ", "recipient ", "gateway ",
	    "policy "};
	char err[256];
	const char *id;
	size_t k, klen;

	for (k = 0; k < 4; k++) {
		klen = strlen(kinds[k]);
		if (strncmp(section, kinds[k], klen) == 0)
			break;
	}
	if (k == 4)
		return 0;
	id = section + klen;
	if (!id_valid(id)) {
		config_error(p, p->line, "bad identifier in [%s]", section);
		return 1;
	}
	err[0] = '\0';
	switch (k) {
	case 0:
		config_device_key(p, id, name, value);
		break;
	case 1:
		config_recipient_key(p, id, name, value);
		break;
	case 2:
		if (sms_gateway_set(config_gateway(p, id), p->dir, name, value,
		        err, sizeof(err)) != 0)
			config_error(p, p->line, "[gateway %s] %s", id, err);
		break;
	case 3:
		if (policy_set(config_policy(p, id), name, value, err,
		        sizeof(err)) != 0)
			config_error(p, p->line, "[policy %s] %s", id, err);
		break;
	}
	return 1;
}

static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_parse *p = user;
	size_t i;

	if (config_named_section(p, section, name, value))
		return 1;
	for (i = 0; i < NOPTS; i++) {
		if (strcmp(opts[i].section, section) != 0 ||
		    strcmp(opts[i].key, name) != 0)
			continue;
		if (p->set[i])
			config_error(p, p->line, "%s already set on line %d",
			    name, p->set_line[i]);
		else if (config_set_opt(p, &opts[i], value, p->line) == 0) {
			p->set[i] = 1;
			p->set_line[i] = p->line;
		}
		return 1;
	}
	config_error(p, p->line, "unknown key %s in [%s]", name, section);
	return 1;
}

/* inih reads line by line through this, which lets us count lines.
 * A line longer than inih's buffer (an SMS template may be) would come
 * in pieces and be misread: it is an error of its own, and the rest of
 * it is skipped. */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	char *r = fgets(str, num, p->in);
	size_t n;
	int c;

	if (r == NULL)
		return NULL;
	p->line++;
	n = strlen(str);
	if (n + 1 == (size_t)num && str[n - 1] != '\n' &&
	    (c = fgetc(p->in)) != EOF && c != '\n') {
		while ((c = fgetc(p->in)) != EOF && c != '\n')
			;
		config_error(p, p->line, "line longer than %d bytes", num - 1);
	}
	return r;
}

static void
config_defaults(struct config_parse *p)
{
	char host[HOST_NAME_MAX + 1];
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		if (p->set[i])
			continue;
		if (opts[i].def == NULL) {
			config_error(p, p->line, "[%s] %s is required",
			    opts[i].section, opts[i].key);
			continue;
		}
		config_set_opt(p, &opts[i], opts[i].def, 0);
	}
	if (p->cfg->instance_id != NULL && p->cfg->instance_id[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "relay");
		host[sizeof(host) - 1] = '\0';
		free(p->cfg->instance_id);
		p->cfg->instance_id = xstrdup(host);
	}
}

int
config_opt_line(const struct config_parse *p, const char *section,
    const char *key)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].section, section) == 0 &&
		    strcmp(opts[i].key, key) == 0)
			return p->set_line[i];
	return 0;
}

static int
device_cmp(const void *a, const void *b)
{
	return strcmp(((const struct device_entry *)a)->id,
	    ((const struct device_entry *)b)->id);
}

static int
recipient_cmp(const void *a, const void *b)
{
	return strcmp(((const struct recipient_entry *)a)->id,
	    ((const struct recipient_entry *)b)->id);
}

struct relay_config *
relay_config_load(const char *path, FILE *errout)
{
	struct config_parse p;
	char *dircopy;
	int rc;

	memset(&p, 0, sizeof(p));
	p.cfg = xcalloc(1, sizeof(*p.cfg));
	p.cfg->path = xstrdup(path);
	p.errout = errout;
	if ((p.in = fopen(path, "r")) == NULL) {
		fprintf(errout, "%s: %s\n", path, strerror(errno));
		relay_config_free(p.cfg);
		return NULL;
	}
	dircopy = xstrdup(path);
	p.dir = dirname(dircopy);
	rc = ini_parse_stream(config_reader, &p, config_handler, &p);
	fclose(p.in);
	if (rc > 0)
		config_error(&p, rc, "syntax error");
	config_defaults(&p);
	if (p.errors == 0 && p.cfg->directory_path[0] != '\0')
		p.errors += relay_directory_merge(p.cfg, p.dir,
		    config_opt_line(&p, "relay", "directory"), errout);
	/* Sorted first: the checks look recipients up.  (No devices, as
	 * when the directory did not load, means no array at all.) */
	if (p.cfg->ndevices > 0)
		qsort(p.cfg->devices, p.cfg->ndevices, sizeof(*p.cfg->devices),
		    device_cmp);
	if (p.cfg->nrecipients > 0)
		qsort(p.cfg->recipients, p.cfg->nrecipients,
		    sizeof(*p.cfg->recipients), recipient_cmp);
	if (p.errors == 0)
		config_check_entries(&p);
	free(dircopy);
	if (p.errors > 0) {
		relay_config_free(p.cfg);
		return NULL;
	}
	return p.cfg;
}

void
relay_config_free(struct relay_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NOPTS; i++)
		if (opts[i].type == OPT_STRING || opts[i].type == OPT_PATH)
			free(*(char **)((char *)cfg + opts[i].offset));
	for (i = 0; i < cfg->ndevices; i++)
		free(cfg->devices[i].alias);
	for (i = 0; i < cfg->nrecipients; i++) {
		struct recipient_entry *r = &cfg->recipients[i];

		free(r->alias);
		free(r->webhook_url);
		free(r->webhook_secret_file);
		if (r->webhook_key != NULL)
			sodium_free(r->webhook_key);
		free(r->sms);
		free(r->sms_gateway);
		free(r->ack_token_file);
		if (r->ack_token != NULL)
			sodium_free(r->ack_token);
	}
	for (i = 0; i < cfg->ngateways; i++)
		sms_gateway_clear(&cfg->gateways[i]);
	if (cfg->admin_token != NULL)
		sodium_free(cfg->admin_token);
	for (i = 0; i < cfg->npolicies; i++)
		policy_clear(&cfg->policies[i]);
	if (cfg->dir != NULL) {
		directory_free(cfg->dir);
		free(cfg->dir);
	}
	free(cfg->gateways);
	free(cfg->policies);
	free(cfg->devices);
	free(cfg->recipients);
	free(cfg->path);
	free(cfg);
}

int
relay_config_same(const struct relay_config *a, const struct relay_config *b,
    const char *section, const char *key)
{
	const struct opt *o;
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		o = &opts[i];
		if (strcmp(o->section, section) != 0 ||
		    strcmp(o->key, key) != 0)
			continue;
		switch (o->type) {
		case OPT_STRING:
		case OPT_PATH:
			return strcmp(*(char *const *)((const char *)a +
			                  o->offset),
			           *(char *const *)((const char *)b +
			               o->offset)) == 0;
		case OPT_INT:
			return *(const long *)((const char *)a + o->offset) ==
			    *(const long *)((const char *)b + o->offset);
		case OPT_LEVEL:
			return *(const int *)((const char *)a + o->offset) ==
			    *(const int *)((const char *)b + o->offset);
		}
	}
	return -1;
}

const struct device_entry *
relay_config_device(const struct relay_config *cfg, const char *id)
{
	struct device_entry key;

	if (cfg->ndevices == 0)
		return NULL;
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, cfg->devices, cfg->ndevices, sizeof(*cfg->devices),
	    device_cmp);
}

const struct recipient_entry *
relay_config_recipient(const struct relay_config *cfg, const char *id)
{
	struct recipient_entry key;

	if (cfg->nrecipients == 0)
		return NULL;
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, cfg->recipients, cfg->nrecipients,
	    sizeof(*cfg->recipients), recipient_cmp);
}

const struct sms_gateway *
relay_config_gateway(const struct relay_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ngateways; i++)
		if (strcmp(cfg->gateways[i].name, name) == 0)
			return &cfg->gateways[i];
	return NULL;
}

const char *
relay_config_sms_template(const struct relay_config *cfg,
    enum sms_template_kind kind, enum sms_language *lang)
{
	if (sms_template_language(cfg->sms_language, lang) != 0)
		*lang = SMS_LANG_NL;
	if (cfg->sms_templates[kind] != NULL &&
	    cfg->sms_templates[kind][0] != '\0')
		return cfg->sms_templates[kind];
	return sms_template_default(*lang, kind);
}
