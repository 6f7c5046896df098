/*
 * alertrelayd: accepts alerts from enrolled devices over TLS 1.3, makes
 * each durable in Redis before answering "accepted", and delivers it to
 * its recipients by signed webhook.
 */
#include <sys/stat.h>

#include <signal.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "ack.h"
#include "admin.h"
#include "checkin.h"
#include "alive.h"
#include "audit.h"
#include "conn.h"
#include "conn_authfail.h"
#include "conn_priority.h"
#include "conn_reap.h"
#include "conn_refuse.h"
#include "conn_unauth.h"
#include "directory_version.h"
#include "dispatch.h"
#include "escalate.h"
#include "fdbudget.h"
#include "fdlimit.h"
#include "http_client.h"
#include "listener.h"
#include "log.h"
#include "privcheck.h"
#include "privdrop.h"
#include "ratelimit.h"
#include "relay.h"
#include "redis_conn.h"
#include "relay_directory.h"
#include "relay_restart.h"
#include "retention.h"
#include "sdnotify.h"
#include "supervise.h"
#include "sms_gateway.h"
#include "spool.h"
#include "stopjobs.h"
#include "store.h"
#include "strindex.h"
#include "tls.h"
#include "workers.h"
#include "xmalloc.h"

/* Buckets of the connections-by-device index. */
#define STRINDEX_BUCKETS 65536

#define DEFAULT_CONFIG "/etc/alertrelay/alertrelayd.conf"

/* -h/--help: the help on stdout, exit 0; a usage error: the help on
 * stderr, exit 2, as alertctl does. */
static void
usage(FILE *f, int status)
{
	fprintf(f,
	    "Usage: alertrelayd [-dftV] [-c CONFIG]\n"
	    "\n"
	    "  -c, --config CONFIG  configuration file (default " DEFAULT_CONFIG
	    ")\n"
	    "  -f, --foreground     stay in the foreground, log to stderr\n"
	    "  -d, --debug          foreground with debug logging\n"
	    "  -t, --test           check the configuration and exit\n"
	    "  -h, --help           this help\n"
	    "  -V, --version        print the version and exit\n"
	    "\n"
	    "Exit status: 0 success, 1 failure, 2 usage error.\n");
	exit(status);
}

/* The TLS key is a secret: refuse it when others may read it. */
static int
check_secret_mode(const char *path, FILE *errout)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(errout, "%s: cannot stat\n", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(errout,
		    "%s: private key readable by group or others (mode %03o); "
		    "chmod 600 it\n",
		    path, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

/* Everything a configuration needs before it may be used. */
static int
load_config(const char *path, FILE *errout, struct relay_config **cfgp,
    SSL_CTX **ctxp)
{
	struct relay_config *cfg;
	SSL_CTX *ctx;
	char err[512];

	if ((cfg = relay_config_load(path, errout)) == NULL)
		return -1;
	if (check_secret_mode(cfg->tls_key, errout) != 0 ||
	    (ctx = tls_server_ctx(cfg->tls_cert, cfg->tls_key, err,
	         sizeof(err))) == NULL) {
		if (err[0] != '\0')
			fprintf(errout, "%s\n", err);
		relay_config_free(cfg);
		return -1;
	}
	*cfgp = cfg;
	*ctxp = ctx;
	return 0;
}

/*
 * READY=1 means "alerts can be accepted".  Without a spool that needs
 * Redis: READY=1 waits for it (TimeoutStartSec= then fails the start,
 * which is the truth), and STATUS= says what is awaited meanwhile.  With
 * a spool the relay accepts into it at once: READY=1 as soon as it
 * listens, with STATUS= saying that Redis is not there yet.
 */
static int relay_ready_sent;

static void
relay_notify_ready(void)
{
	if (!relay_ready_sent)
		sdnotify("READY=1");
	relay_ready_sent = 1;
}

/* A reload before READY=1 must not make systemd think the start is over. */
static void
relay_notify_reload(const char *state)
{
	if (relay_ready_sent)
		sdnotify(state);
}

static const char *
relay_redis_where(const struct relay_config *cfg)
{
	return cfg->redis_sentinels[0] != '\0' ? cfg->redis_sentinels
	                                       : cfg->redis_address;
}

static void
relay_notify_waiting(struct relay *relay)
{
	if (relay->spool != NULL) {
		sdnotify_status("degraded: waiting for Redis at %s; alerts go "
		                "to the local spool",
		    relay_redis_where(relay->cfg));
		relay_notify_ready();
	} else
		sdnotify_status("waiting for Redis at %s; no alert can be "
		                "accepted until it is up",
		    relay_redis_where(relay->cfg));
}

static void
relay_log_loaded(const struct relay_config *cfg, const char *what)
{
	if (cfg->dir != NULL)
		log_info("%s: devices=%zu recipients=%zu "
		         "directory_version=%lld",
		    what, cfg->ndevices, cfg->nrecipients, cfg->dir->version);
	else
		log_info("%s: devices=%zu recipients=%zu", what, cfg->ndevices,
		    cfg->nrecipients);
}

/* The audit record of a configuration (and directory) taken in use. */
static void
relay_audit_loaded(struct relay *relay, const char *what)
{
	char obj[64];

	audit_relay(relay, what, "config", "ok", NULL, "relay", "relay", NULL);
	if (relay->cfg->dir != NULL) {
		snprintf(obj, sizeof(obj), "directory:v%lld",
		    relay->cfg->dir->version);
		audit_relay(relay, "directory.load", obj, "ok", NULL, "relay",
		    "relay", NULL);
	}
}

/* What is taken from the configuration at start and again at each
 * reload (what is not, relay_restart.c lists). */
static void
relay_apply(struct relay *relay)
{
	const struct relay_config *cfg = relay->cfg;

	log_set_level(cfg->log_level);
	/* Times in SMS texts are local times of the people reading them. */
	setenv("TZ", cfg->timezone, 1);
	tzset();
	ratelimit_set(relay->conn_limit, (double)cfg->conn_rate,
	    (double)cfg->conn_burst);
	ratelimit_set(relay->alert_limit, cfg->alert_rate / 60.0,
	    (double)cfg->alert_burst);
	ratelimit_set(relay->addr_alert_limit, cfg->addr_alert_rate / 60.0,
	    (double)cfg->addr_alert_burst);
	ratelimit_set(relay->session_limit, cfg->device_conn_rate / 60.0,
	    (double)cfg->device_conn_burst);
	checkin_reconfigure(relay->checkin);
}

/* The first problem of a refused reload, for `alertctl reload`. */
static void
relay_reload_first_error(const char *errs, char *err, size_t errlen)
{
	size_t n = strcspn(errs, "\n");

	snprintf(err, errlen, "%.*s", (int)n, errs);
}

/* SIGHUP and POST /reload: all or nothing.  A configuration or directory
 * with any problem is refused and the running one stays. */
int
relay_reload(struct relay *relay, char *err, size_t errlen)
{
	struct relay_config *cfg;
	SSL_CTX *ctx;
	char *errs = NULL, *line, *save = NULL, why[512], keys[512];
	size_t len = 0;
	FILE *errout;
	int rc;

	if (relay->stopping) {
		/* relay.stop may be recorded already: nothing is done (and
		 * audited) after it (relay_quiet) */
		log_warnx("reload refused: the relay is stopping");
		snprintf(err, errlen, "the relay is stopping");
		return -1;
	}
	if ((errout = open_memstream(&errs, &len)) == NULL) {
		log_warn("reload: open_memstream");
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	relay_notify_reload("RELOADING=1");
	rc = load_config(relay->cfg->path, errout, &cfg, &ctx);
	fclose(errout);
	if (rc != 0) {
		relay_reload_first_error(errs, err, errlen);
		for (line = strtok_r(errs, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			log_warnx("reload: %s", line);
		log_warnx("reload refused; the running configuration stays");
		audit_relay(relay, "config.reload", "config", "refused", NULL,
		    "relay", "relay", err);
		free(errs);
		relay_notify_reload("READY=1");
		return -1;
	}
	free(errs);
	workers_identity(cfg, relay->worker);
	if (relay_restart_needed(relay->cfg, cfg, keys, sizeof(keys)) > 0) {
		log_warnx("reload refused: restart needed for: %s; the running "
		          "configuration stays",
		    keys);
		snprintf(err, errlen, "restart needed for: %s", keys);
		audit_relay(relay, "config.reload", "config", "refused", NULL,
		    "relay", "relay", "restart needed");
		relay_config_free(cfg);
		SSL_CTX_free(ctx);
		relay_notify_reload("READY=1");
		return -1;
	}
	if (relay_directory_successor(relay->cfg, cfg, why, sizeof(why)) != 0) {
		log_warnx("reload refused: %s", why);
		snprintf(err, errlen, "%s", why);
		audit_relay(relay, "directory.load", "directory", "refused",
		    NULL, "relay", "relay", why);
		relay_config_free(cfg);
		SSL_CTX_free(ctx);
		relay_notify_reload("READY=1");
		return -1;
	}
	/* Existing TLS sessions keep a reference to the old context. */
	SSL_CTX_free(relay->ssl_ctx);
	relay->ssl_ctx = ctx;
	audit_config_changes(relay, relay->cfg, cfg);
	relay_config_free(relay->cfg);
	relay->cfg = cfg;
	relay_apply(relay);
	retention_apply(relay->retention);
	relay_log_loaded(cfg, "configuration reloaded");
	relay_audit_loaded(relay, "config.reload");
	conn_revoke_sweep(relay);
	directory_version_record(relay, 0);
	/* relays behind see the new version now, not a refresh later */
	alive_refresh(relay->alive);
	relay_notify_reload("READY=1");
	return 0;
}

static void
relay_audit_drained(void *arg)
{
	struct relay *relay = arg;

	log_info("deliveries finished; exiting");
	event_base_loopexit(relay->base, NULL);
}

/* Last, the audit log: relay.stop after every other record, then the
 * loop ends once Redis has them all (audit_drain). */
static void
relay_jobs_drained(void *arg)
{
	struct relay *relay = arg;

	/* before the audit's drain, which waits for Redis to answer: this
	 * goes out first on the same connection */
	alive_stop(relay->alive);
	audit_stop(relay->audit);
	audit_drain(relay->audit, relay_audit_drained, relay);
}

/* Then the alerts, cancels and acknowledgements still waiting for
 * Redis (or WAIT), so that what the master did is recorded. */
static void
relay_drained(void *arg)
{
	struct relay *relay = arg;

	stopjobs_drain(relay->stopjobs, relay_jobs_drained, relay);
}

static void
relay_stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *relay = arg;

	(void)fd;
	(void)what;
	log_warnx("shutdown_timeout reached: %zu deliveries stay pending "
	          "in Redis for the next instance",
	    dispatch_inflight(relay->dispatch));
	/* else the jobs ended at exit would go on to the audit's drain
	 * and say "exiting" after this */
	stopjobs_abandon(relay->stopjobs);
	/* may not reach Redis before the exit: then its TTL ends it */
	alive_stop(relay->alive);
	/* once only: a stop that got this far made it already */
	audit_stop(relay->audit);
	event_base_loopexit(relay->base, NULL);
}

/* Nothing new is taken up once the stop begins, so that nothing is
 * done (and audited) after relay.stop and nothing new holds the stop
 * up: acknowledgements are refused (the recipient's client tries
 * again, on another instance or after the restart; an SMS reply is not
 * sent again, as after a 503: no confirmation comes, the person
 * replies again or the next tier goes out),
 * and the timers of check-ins, escalation and supervision are left in
 * Redis, whose claims make that as safe as a crash (see each pause).
 * What is under way goes on, and the stop waits for it (stopjobs.h). */
static void
relay_quiet(struct relay *relay)
{
	ack_stop(relay->ack);
	escalate_pause(relay->escalate);
	checkin_pause(relay->checkin);
	supervise_pause(relay->supervise);
}

/* Stop taking alerts at once; give deliveries in flight until
 * shutdown_timeout to finish, then the jobs waiting for Redis up to
 * STOPJOBS_WAIT_MS, then the audit log's last records until Redis has
 * them.  Whatever deliveries are left stay pending in Redis, where this
 * instance's next start or another instance takes them. */
static void
relay_stop(struct relay *relay)
{
	if (relay->stopping)
		return;
	relay->stopping = 1;
	log_info("shutting down");
	sdnotify("STOPPING=1");
	/* what was counted rather than recorded, before the last record */
	conn_refuse_end_all(relay);
	conn_authfail_flush(relay->authfail);
	listener_close_all(relay);
	relay_quiet(relay);
	conn_close_all(relay);
	event_base_once(relay->base, -1, EV_TIMEOUT, relay_stop_deadline_cb,
	    relay, &(struct timeval){relay->cfg->shutdown_timeout, 0});
	dispatch_drain(relay->dispatch, relay_drained, relay);
}

void
relay_fail(struct relay *relay)
{
	relay->exit_code = 1;
	relay_stop(relay);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct relay *relay = arg;
	char why[512];

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		relay_stop(relay);
		break;
	case SIGHUP:
		relay_reload(relay, why, sizeof(why));
		break;
	default:
		log_warnx("unexpected signal %d", (int)sig);
		break;
	}
}

/* An event from any instance: to the device's connections here. */
static void
receipt_cb(const char *payload, size_t len, void *arg)
{
	struct relay *relay = arg;
	json_t *m = json_loadb(payload, len, 0, NULL);
	const char *dev = json_string_value(json_object_get(m, "device_id"));
	const char *aid = json_string_value(json_object_get(m, "alert_id"));
	json_t *receipt = json_object_get(m, "receipt");

	if (dev != NULL && aid != NULL && json_is_object(receipt))
		conn_receipt(relay, dev, aid, receipt);
	json_decref(m);
}

static void
store_ready_cb(void *arg)
{
	struct relay *relay = arg;

	dispatch_start(relay->dispatch);
	spool_resume(relay->spool);
	supervise_resume(relay->supervise);
	audit_store_ready(relay->audit);
	directory_version_record(relay, !relay->version_checked);
	relay->version_checked = 1;
	alive_refresh(relay->alive);
	relay_notify_ready();
	sdnotify_status("accepting alerts; %zu devices, %zu recipients",
	    relay->cfg->ndevices, relay->cfg->nrecipients);
}

static void
store_lost_cb(void *arg)
{
	struct relay *relay = arg;

	dispatch_pause(relay->dispatch);
	if (relay->spool != NULL)
		sdnotify_status("degraded: redis unavailable; alerts go to the "
		                "local spool");
	else
		sdnotify_status("redis unavailable; alerts are refused until "
		                "it is back");
}

/* Problems of the files the relay reads again once it is no longer
 * root (privcheck.c): -t fails on them; a start as root warns. */
static int
main_privcheck(const struct relay_config *cfg, int test)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *out;
	int n;

	if (geteuid() != 0)
		return 0;
	if (test) {
		if ((n = privcheck(cfg, stderr)) > 0)
			fprintf(stderr,
			    "%s: %d problem%s for running as user %s\n",
			    cfg->path, n, n == 1 ? "" : "s",
			    cfg->user[0] != '\0' ? cfg->user : "(not set)");
		return n;
	}
	if (cfg->user[0] == '\0') /* privdrop() refuses, after binding */
		return 0;
	if ((out = open_memstream(&text, &len)) == NULL)
		log_fatal("exiting: open_memstream");
	privcheck(cfg, out);
	fclose(out);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		log_warnx("%s", line);
	free(text);
	return 0;
}

/* Every problem goes to stderr; at a start, the last line says why the
 * relay exits, since an operator may see only that one. */
static int
main_load_config(const char *path, int test, struct relay *relay)
{
	char *errs = NULL, first[512];
	size_t len = 0;
	FILE *errout;
	int rc;

	if ((errout = open_memstream(&errs, &len)) == NULL)
		log_fatal("exiting: open_memstream");
	rc = load_config(path, errout, &relay->cfg, &relay->ssl_ctx);
	fclose(errout);
	fputs(errs, stderr);
	if (rc != 0) {
		relay_reload_first_error(errs, first, sizeof(first));
		free(errs);
		if (test) {
			fprintf(stderr, "%s: configuration has errors\n", path);
			return -1;
		}
		log_fatalx("exiting: %s: configuration has errors; the first: "
		           "%s",
		    path, first);
	}
	free(errs);
	if (audit_config_check(relay->cfg, stderr) != 0) {
		if (test) {
			fprintf(stderr, "%s: configuration has errors\n", path);
			relay_config_free(relay->cfg);
			SSL_CTX_free(relay->ssl_ctx);
			return -1;
		}
		log_fatalx("exiting: %s: [audit] key_file cannot be used",
		    path);
	}
	if (main_privcheck(relay->cfg, test) != 0) {
		relay_config_free(relay->cfg);
		SSL_CTX_free(relay->ssl_ctx);
		return -1;
	}
	if (test)
		printf("%s: configuration OK\n", path);
	return 0;
}

/* The loop, with the priorities of relay.h. */
static struct event_base *
main_event_base(void)
{
	struct event_config *ec = event_config_new();
	struct timeval slice = {0, RELAY_HANDSHAKE_SLICE_MS * 1000};
	struct event_base *base;

	if (ec == NULL ||
	    /* Slices only for handshakes below the rest (relay.h): capping
	     * the default queue makes a burst slower (README). */
	    (RELAY_PRIO_HANDSHAKE > RELAY_PRIO_DEFAULT &&
	        event_config_set_max_dispatch_interval(ec, &slice, -1,
	            RELAY_PRIO_HANDSHAKE) != 0) ||
	    (base = event_base_new_with_config(ec)) == NULL ||
	    event_base_priority_init(base, RELAY_PRIORITIES) != 0)
		log_fatalx("exiting: cannot create the event loop");
	event_config_free(ec);
	return base;
}

/*
 * Everything that may need root happens here, once, before any worker
 * exists: the listeners bound, the audit keys read and files opened (one
 * chain per worker), then privileges dropped.  A worker restarted later
 * is forked from this state and so needs no privilege.
 */
static void
main_open(struct relay *relay, struct listener **lists, struct admin **admins,
    struct audit **audits, int nworkers)
{
	int i;

	for (i = 0; i < nworkers; i++) {
		relay->listeners = NULL;
		if (listener_open_all(relay) != 0)
			log_fatalx("exiting: cannot listen: %s",
			    log_last_problem());
		lists[i] = relay->listeners;
	}
	relay->listeners = lists[0];
	for (i = 0; i < nworkers; i++)
		if (admin_open(relay, nworkers > 1 ? i : 0, &admins[i]) != 0)
			log_fatalx("exiting: cannot listen: %s",
			    log_last_problem());
	if (ack_open(relay, &relay->ack) != 0)
		log_fatalx("exiting: cannot listen: %s", log_last_problem());
	for (i = 0; i < nworkers; i++)
		if ((audits[i] = audit_new(relay, nworkers > 1 ? i : 0)) ==
		    NULL)
			log_fatalx("exiting: cannot keep the audit log: %s",
			    log_last_problem());
}

/* In worker i: its own admin listener and audit chain; the others'
 * are closed here (the parent keeps them for their workers). */
static void
main_worker(struct relay *relay, int i, struct listener **lists,
    struct admin **admins, struct audit **audits, int nworkers)
{
	int j;

	relay->worker = i;
	workers_identity(relay->cfg, i);
	for (j = 0; j < nworkers; j++)
		if (j != i) {
			relay->listeners = lists[j];
			listener_close_all(relay);
			admin_close(admins[j]);
			audit_free(audits[j]);
		}
	/* The ack listeners' limits are in memory: worker 0's alone. */
	if (i != 0) {
		ack_close(relay->ack);
		relay->ack = NULL;
	}
	relay->listeners = lists[i];
	relay->admin = admins[i];
	relay->audit = audits[i];
	/* The loop must be told it now lives in a child. */
	event_reinit(relay->base);
}

int
main(int argc, char *argv[])
{
	const char *path = DEFAULT_CONFIG;
	int ch, foreground = 0, debug = 0, test = 0;
	struct relay relay;
	struct store_callbacks cbs;
	struct event *sigs[3], *watchdog;
	const int signums[3] = {SIGTERM, SIGINT, SIGHUP};
	struct listener **lists;
	struct admin **admins;
	struct audit **audits;
	int nworkers;
	size_t i;

	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"debug", no_argument, NULL, 'd'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"test", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};

	while (
	    (ch = getopt_long(argc, argv, "c:dfthV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = foreground = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("alertrelayd %s\n", ALERTRELAY_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc) {
		fprintf(stderr,
		    "alertrelayd: error: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr, 2);
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "alertrelayd: libsodium failed to start\n");
		return 1;
	}
	log_init("alertrelayd", debug ? LOG_DEBUG : LOG_INFO, LOG_TO_STDERR);

	memset(&relay, 0, sizeof(relay));
	TAILQ_INIT(&relay.conns);
	TAILQ_INIT(&relay.ingests);
	relay.worker = -1;
	if (main_load_config(path, test, &relay) != 0)
		return 1;
	if (test) {
		relay_config_free(relay.cfg);
		SSL_CTX_free(relay.ssl_ctx);
		return 0;
	}
	if (!debug)
		log_set_level(relay.cfg->log_level);
	/* Times in SMS texts are local times of the people reading them. */
	setenv("TZ", relay.cfg->timezone, 1);
	tzset();
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (ulimit -f) is then EFBIG, a write error the
	 * spool and the audit file handle, not a kill with a core dump. */
	signal(SIGXFSZ, SIG_IGN);

	relay.unauth = conn_unauth_new();
	relay.by_device = strindex_new(STRINDEX_BUCKETS);
	relay.conn_limit = ratelimit_new((double)relay.cfg->conn_rate,
	    (double)relay.cfg->conn_burst, 65536);
	relay.alert_limit = ratelimit_new(relay.cfg->alert_rate / 60.0,
	    (double)relay.cfg->alert_burst, 16384);
	relay.addr_alert_limit =
	    ratelimit_new(relay.cfg->addr_alert_rate / 60.0,
	        (double)relay.cfg->addr_alert_burst, 65536);
	relay.session_limit = ratelimit_new(relay.cfg->device_conn_rate / 60.0,
	    (double)relay.cfg->device_conn_burst, 16384);
	relay.refusal_said = ratelimit_new(CONN_REFUSE_SAID_PER_MIN / 60.0,
	    CONN_REFUSE_SAID_BURST, 16384);
	fdlimit_raise(relay.cfg->max_connections,
	    fdbudget_http_wanted(relay.cfg));
	fdbudget_plan(relay.cfg);
	relay.base = main_event_base();
	nworkers = (int)relay.cfg->workers;
	lists = xcalloc((size_t)nworkers, sizeof(*lists));
	admins = xcalloc((size_t)nworkers, sizeof(*admins));
	audits = xcalloc((size_t)nworkers, sizeof(*audits));
	main_open(&relay, lists, admins, audits, nworkers);
	relay.admin = admins[0];
	relay.audit = audits[0];
	/* Everything that needs root is done: ports bound, keys loaded. */
	if (privdrop(relay.cfg->user) != 0)
		log_fatalx("exiting: cannot drop privileges: %s",
		    log_last_problem());
	if (!foreground) {
		if (daemon(0, 0) != 0)
			log_fatal("exiting: cannot become a daemon");
		log_init("alertrelayd", relay.cfg->log_level, LOG_TO_SYSLOG);
		/* The loop must be told it now lives in a child. */
		event_reinit(relay.base);
	}
	if (nworkers > 1)
		main_worker(&relay,
		    workers_run(nworkers, relay.cfg->shutdown_timeout), lists,
		    admins, audits, nworkers);
	free(lists);
	free(admins);
	free(audits);
	for (i = 0; i < 3; i++) {
		sigs[i] =
		    evsignal_new(relay.base, signums[i], signal_cb, &relay);
		evsignal_add(sigs[i], NULL);
	}
	watchdog = sdnotify_watchdog_start(relay.base);
	relay.http = http_client_new(relay.base);
	relay.dispatch = dispatch_new(&relay);
	relay.stopjobs = stopjobs_new(&relay);
	if (relay.cfg->spool_dir[0] != '\0' &&
	    (relay.spool = spool_open(&relay, relay.cfg->spool_dir)) == NULL)
		/* a restart would find the same (another relay's lock, a
		 * directory it cannot use): the parent stops them all */
		log_fatalx_status(WORKERS_EXIT_REFUSED,
		    "exiting: cannot use spool_dir %s: %s",
		    relay.cfg->spool_dir, log_last_problem());
	cbs.ready = store_ready_cb;
	cbs.lost = store_lost_cb;
	cbs.arg = &relay;
	relay.store = store_new(relay.base, relay.cfg, &cbs);
	store_subscribe_receipts(relay.store, receipt_cb, &relay);
	relay_notify_waiting(&relay);
	store_start(relay.store);
	relay.escalate = escalate_new(&relay);
	relay.checkin = checkin_new(&relay);
	relay.supervise = supervise_new(&relay);
	relay.retention = retention_new(&relay);
	relay.alive = alive_new(&relay);
	relay.priority = conn_priority_new(&relay);
	relay.reap = conn_reap_new(&relay);
	relay.authfail = conn_authfail_new(&relay);
	log_info("alertrelayd %s started: instance=%s", ALERTRELAY_VERSION,
	    relay.cfg->instance_id);
	relay_log_loaded(relay.cfg, "configuration loaded");
	relay_audit_loaded(&relay, "relay.start");

	event_base_dispatch(relay.base);

	ack_close(relay.ack);
	admin_close(relay.admin);
	escalate_free(relay.escalate);
	conn_ingest_end_all(&relay);
	checkin_free(relay.checkin);
	supervise_free(relay.supervise);
	dispatch_free(relay.dispatch);
	spool_close(relay.spool);
	http_client_free(relay.http);
	sms_send_forget_all();
	retention_free(relay.retention);
	alive_free(relay.alive);
	relay.alive = NULL;
	conn_priority_free(relay.priority);
	conn_authfail_free(relay.authfail);
	relay.authfail = NULL;
	audit_free(relay.audit);
	relay.audit = NULL; /* what closes from here on records nothing */
	store_free(relay.store);
	listener_close_all(&relay);
	conn_close_all(&relay);
	conn_reap_free(relay.reap); /* after: it may hold some of them */
	relay.reap = NULL;
	/* after store_free, which ended every job still waiting for it */
	stopjobs_free(relay.stopjobs);
	relay.stopjobs = NULL;
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	if (watchdog != NULL)
		event_free(watchdog);
	event_base_free(relay.base);
	SSL_CTX_free(relay.ssl_ctx);
	ratelimit_free(relay.conn_limit);
	ratelimit_free(relay.alert_limit);
	ratelimit_free(relay.session_limit);
	ratelimit_free(relay.addr_alert_limit);
	conn_unauth_free(relay.unauth);
	ratelimit_free(relay.refusal_said);
	strindex_free(relay.by_device);
	relay_config_free(relay.cfg);
	log_info("stopped");
	return relay.exit_code;
}
