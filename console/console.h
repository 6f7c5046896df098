/*
 * alertconsole: the contact point's console.  The webhook endpoint for
 * one or more recipients (the checks of `alertctl receive`, shared in
 * client/hook*.c), a SQLite store of every webhook body as received,
 * and a read API and static page for the operators' browsers.
 */
#ifndef ALERTCONSOLE_CONSOLE_H
#define ALERTCONSOLE_CONSOLE_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "console_retention.h"
#include "hook.h"

#define CONSOLE_MAX_RECIPIENTS 16
#define CONSOLE_PATH_MAX 128

struct console_db;
struct console_events;
struct evhttp_request;

struct console_recipient {
	char *id;
	char *keys[HOOK_MAX_KEYS]; /* secret key files */
	size_t nkeys;
	char *secret_file; /* webhook secret (whsec_) */
	char path[CONSOLE_PATH_MAX]; /* /hook/<id> */
	struct hook_config hook;
	/* The relay's ack listener, for acknowledging from the console:
	 * https URL, this recipient's token, and how to trust the relay. */
	char *ack_url, *ack_token_file, *ack_pin, *ack_cacert;
	char *ack_token; /* read at start, sodium_malloc'd */
	/* The recipient's Ed25519 key: acknowledgements carry a signed
	 * statement (client/ack_sign.h), read at start; or NULL. */
	char *ack_sign_key_file;
	unsigned char *ack_sign_sk;
};

/* The limits of each listener (console_guard.h). */
struct console_limits {
	long max_conns; /* max_connections */
	long max_per_addr; /* max_connections_per_address */
	long conn_rate, conn_burst; /* per address, per second */
	long request_timeout; /* seconds from accept to a whole request */
};

struct console_config {
	char *listen; /* HOST:PORT */
	char *webhook_listen; /* HOST:PORT, or NULL: webhooks on listen */
	char *state_dir;
	char *static_dir;
	char *user; /* "" : none */
	char *directory, *org_key; /* signed directory, or */
	char *devices; /* a directory of DEVICE.pub files */
	char *tls_cert, *tls_key;
	char *tls_client_ca; /* browsers must show a certificate from it */
	char *metrics_listen; /* HOST:PORT for /metrics, or NULL */
	char *server_name; /* names the page is reached by, or NULL */
	long max_age;
	int refuse_old;
	struct console_limits limits; /* of each listener */
	long max_streams, max_streams_per_addr; /* event streams */
	long max_exports; /* exports under way at once */
	long export_timeout; /* seconds an export may take */
	char *map_tiles; /* tile URL template, or NULL: no map */
	char *map_attribution; /* shown under the map */
	char *leaflet_dir; /* Debian's libjs-leaflet */
	long session_idle; /* seconds without a request: logged out */
	long login_max_fail; /* wrong passwords in a row: locked */
	long login_lockout; /* seconds locked */
	long login_addr_max; /* failed logins per address per lockout */
	long alarm_interval; /* seconds between the page's alarm sounds */
	struct console_retention_cfg retention; /* [retention] */
	struct console_recipient rcpt[CONSOLE_MAX_RECIPIENTS];
	size_t nrcpt;
};

struct console_auth;
struct console_device;
struct console_ack;
struct console_export;
struct console_metrics;

struct console {
	struct console_config cfg;
	struct console_auth *auth; /* failed logins per address */
	struct console_device *device; /* the device cookies' secret */
	struct console_ack *ack; /* acknowledgements under way */
	struct console_export *exports; /* exports under way */
	struct console_db *db;
	struct shown *shown; /* shared by the recipients' hooks */
	struct seen *seen;
	struct console_events *events; /* the pages' streams */
	struct console_metrics *metrics; /* kept for /metrics, or NULL */
	struct console_retention *retention; /* the sweep */
};

/* console_config.c: reads the configuration; -1 (logged) when wrong. */
int console_config_load(const char *path, struct console_config *cfg);
void console_config_free(struct console_config *cfg);
/* console_config.c: the recipient id, or NULL when not configured. */
struct console_recipient *console_config_find(struct console_config *cfg,
    const char *id);

/* console_user_cmd.c: alertconsole user ...; the exit status. */
int console_user_cmd(struct console_config *cfg, int argc, char **argv);
/* console_user_cmd.c: the database opened as the console's user, for a
 * command run beside the console; NULL (logged) on failure. */
struct console_db *console_user_db(struct console_config *cfg);

/* console_http.c: binds the listener (before privileges are dropped),
 * then runs the event loop until SIGINT or SIGTERM. */
struct console_http;
struct console_http *console_http_bind(struct console *c);
/* 1 when a line about a refused request may be logged now: a peer that
 * sends refused requests at will costs a few lines, not one each. */
int console_refusal_log(void);
int console_http_run(struct console_http *h);
void console_http_free(struct console_http *h);
/* Content-Type and the security headers every answer carries. */
void console_http_headers(struct evhttp_request *req, const char *type);

/* console_api.c: GET /api/alerts as JSON text (caller frees); one
 * alert, opened, with the operators' work on it (or NULL). */
char *console_api_alerts(struct console *c);
/* One stored alert as the page's JSON object, opened now; NULL when it
 * does not open. */
struct console_db_alert;
json_t *console_api_opened(struct console *c,
    const struct console_db_alert *row, time_t now);
/* The alert alert_id, opened, with the operators' work on it (or NULL). */
json_t *console_api_alert(struct console *c, const char *alert_id);
/* console_api.c: logs (within a budget, without its content) an
 * arriving webhook whose "ref" is not a well-formed reference: the page
 * and the export show none for it (hook_print_ref). */
void console_api_check_ref(const struct hook_body *b);
/* console_api.c: a device's alias in recipient_id's signed directory,
 * else its id. */
const char *console_api_device_alias(struct console *c,
    const char *recipient_id, const char *device_id);
/* console_http.c: GET /api/alerts. */
void console_http_alerts(struct console *c, struct evhttp_request *req);
/* console_http.c: answers req with JSON text (taken, wiped), or when
 * it is NULL with status (200: 500) as plain text. */
void console_http_json_text(struct evhttp_request *req, char *text, int status);
/* console_http.c: answers req with body (taken), and the headers. */
void console_http_json(struct evhttp_request *req, int status, const char *why,
    json_t *body);
/* console_http.c: cb when req's browser goes before the answer; cb
 * NULL: no longer (before the answer, or before freeing arg).  req
 * NULL: nothing. */
struct evhttp_connection;
void console_http_on_close(struct evhttp_request *req,
    void (*cb)(struct evhttp_connection *, void *), void *arg);
/* console_http.c: for cb, when the browser of the request *reqp went
 * before its answer: *reqp becomes NULL (never answered), and the
 * request is freed here if libevent left it to us. */
void console_http_gone(struct evhttp_request **reqp);
/* console_http.c: {"error":error} with status and its reason phrase;
 * the page turns error into the operator's language (lang/). */
void console_http_error(struct evhttp_request *req, int status,
    const char *error);

/* console_history.c: GET /api/devices/<id>/alerts (the caller history)
 * as JSON text (caller wipes and frees), or NULL with *status set. */
char *console_history_json(struct console *c, const char *path,
    const char *query, int *status);

#endif
