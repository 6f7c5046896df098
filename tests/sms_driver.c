/*
 * Test driver for daemon/sms_*.c (built by tests/test_sms_gateway.py):
 * the module on a real libevent loop with the daemon's http_client,
 * against real Kannel or local HTTP servers.  Prints one JSON object
 * per line on stdout; logs go to stderr.
 *
 *   sms_driver [-C connect_ms] [-T timeout_ms] [-D deadline_ms] -c FILE check
 *   sms_driver ... -c FILE send GATEWAY TO REF TEXT [GATEWAY TO REF TEXT]...
 *   sms_driver ... -c FILE cancel GATEWAY TO REF TEXT
 *   sms_driver [-L nl|en] format-alert TYPE ALIAS EPOCH REF
 *   sms_driver [-L nl|en] format-event EVENT REF BY|- EPOCH
 *
 * format-* give the built-in texts (sms_template.h) of language -L
 * (default en): the alert (raised, or escalated when TYPE starts with
 * "escalated:"), and acknowledged, confirmed or cancelled.
 *   sms_driver number NUMBER...
 *
 * FILE holds [gateway NAME] sections as in alertrelayd.conf.  "send"
 * sends all its messages at once and prints each result as it comes:
 * {"i":N,"gateway":..,"ok":..,"status":..,"error":..,"ms":..} (and
 * "queued":true when the gateway only kept it for later), or
 * {"i":N,"sent":false} when sms_send() refused.  At the deadline
 * (default timeout_ms + 5 s) it prints {"deadline":true} and frees the
 * client with whatever is still pending, as the daemon does at exit.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <ini.h>
#include <jansson.h>
#include <sodium.h>

#include "http_client.h"
#include "log.h"
#include "sms_gateway.h"
#include "sms_template.h"
#include "util.h"
#include "xmalloc.h"

#define MAX_GATEWAYS 8
#define MAX_SENDS 16

struct driver {
	struct sms_gateway gw[MAX_GATEWAYS];
	size_t ngw;
	char *dir;
	int errors;
	struct event_base *base;
	size_t pending;
	int64_t start_ms;
};

struct send {
	struct driver *d;
	int i;
	const char *gateway;
};

static void
print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

static struct sms_gateway *
find_gateway(struct driver *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->ngw; i++)
		if (strcmp(d->gw[i].name, name) == 0)
			return &d->gw[i];
	return NULL;
}

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct driver *d = user;
	struct sms_gateway *gw;
	char err[512];

	if (strncmp(section, "gateway ", 8) != 0) {
		fprintf(stderr, "sms_driver: unknown section [%s]\n", section);
		d->errors++;
		return 1;
	}
	if ((gw = find_gateway(d, section + 8)) == NULL) {
		if (d->ngw == MAX_GATEWAYS)
			log_fatalx("too many gateways");
		gw = &d->gw[d->ngw++];
		snprintf(gw->name, sizeof(gw->name), "%s", section + 8);
	}
	if (sms_gateway_set(gw, d->dir, name, value, err, sizeof(err)) != 0) {
		print_json(json_pack("{s:s, s:s}", "gateway", gw->name,
		    "set_error", err));
		d->errors++;
	}
	return 1;
}

static int
load(struct driver *d, const char *path)
{
	char *copy = xstrdup(path), err[512];
	size_t i;
	int rc;

	d->dir = xstrdup(dirname(copy));
	free(copy);
	if ((rc = ini_parse(path, ini_cb, d)) != 0) {
		fprintf(stderr, "sms_driver: %s: parse error (line %d)\n", path,
		    rc);
		return -1;
	}
	for (i = 0; i < d->ngw; i++)
		if (sms_gateway_check(&d->gw[i], err, sizeof(err)) != 0) {
			print_json(json_pack("{s:s, s:s}", "gateway",
			    d->gw[i].name, "check_error", err));
			d->errors++;
		}
	return d->errors ? -1 : 0;
}

static void
sent_cb(int ok, long status, const char *error, void *arg)
{
	struct send *s = arg;
	json_t *o;

	o = json_pack("{s:i, s:s, s:b, s:i, s:s?, s:I}", "i", s->i, "gateway",
	    s->gateway, "ok", ok, "status", (int)status, "error", error, "ms",
	    (json_int_t)(monotonic_ms() - s->d->start_ms));
	if (ok == SMS_QUEUED) /* taken, but only kept for later */
		json_object_set_new(o, "queued", json_true());
	print_json(o);
	if (--s->d->pending == 0)
		event_base_loopbreak(s->d->base);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct driver *d = arg;

	(void)fd;
	(void)what;
	print_json(json_pack("{s:b}", "deadline", 1));
	event_base_loopbreak(d->base);
}

static int
run_sends(struct driver *d, int argc, char **argv, int cancel, long connect_ms,
    long timeout_ms, long deadline_ms)
{
	struct send sends[MAX_SENDS];
	struct http_client *hc;
	struct http_req *req;
	struct sms_gateway *gw;
	struct event *deadline;
	struct timeval tv;
	int i, n = argc / 4, rc = 0;

	if (argc == 0 || argc % 4 != 0 || n > MAX_SENDS) {
		fprintf(stderr, "sms_driver: send GATEWAY TO REF TEXT ...\n");
		return 2;
	}
	d->base = event_base_new();
	hc = http_client_new(d->base);
	d->start_ms = monotonic_ms();
	for (i = 0; i < n; i++) {
		sends[i].d = d;
		sends[i].i = i;
		sends[i].gateway = argv[4 * i];
		if ((gw = find_gateway(d, argv[4 * i])) == NULL) {
			fprintf(stderr, "sms_driver: no gateway %s\n",
			    argv[4 * i]);
			return 2;
		}
		req = sms_send(hc, gw, argv[4 * i + 1], argv[4 * i + 3],
		    argv[4 * i + 2], NULL, connect_ms, timeout_ms, sent_cb,
		    &sends[i]);
		if (req == NULL) {
			print_json(json_pack("{s:i, s:b}", "i", i, "sent", 0));
			rc = 3;
			continue;
		}
		d->pending++;
		if (cancel) {
			sms_send_cancel(req);
			sms_send_cancel(req); /* a second time is harmless */
			d->pending--;
			print_json(
			    json_pack("{s:i, s:b}", "i", i, "cancelled", 1));
		}
	}
	/* Let the loop run: a cancelled request must never call back. */
	tv.tv_sec = deadline_ms / 1000;
	tv.tv_usec = (deadline_ms % 1000) * 1000;
	deadline = evtimer_new(d->base, deadline_cb, d);
	evtimer_add(deadline, &tv);
	if (d->pending > 0 || cancel)
		event_base_dispatch(d->base);
	event_free(deadline);
	http_client_free(hc);
	sms_send_forget_all();
	event_base_free(d->base);
	return rc;
}

/* The built-in text for format-alert or format-event. */
static void
format(enum sms_language lang, char **argv)
{
	static const struct {
		const char *event;
		enum sms_template_kind kind;
	} events[] = {
	    {"acknowledged", SMS_TPL_ACKNOWLEDGED},
	    {"confirmed", SMS_TPL_CONFIRMED},
	    {"cancelled", SMS_TPL_CANCELLED},
	};
	struct sms_template_vars v = {0};
	char out[SMS_TEXT_MAX] = "";
	size_t i, len = 0;

	if (strcmp(argv[0], "format-alert") == 0) {
		v.type = argv[1];
		v.alias = argv[2];
		v.t = (time_t)atol(argv[3]);
		v.ref = argv[4];
		v.tier = "1";
		i = strncmp(v.type, "escalated:", 10) == 0;
		if (i)
			v.type += 10;
		len = sms_template_expand(lang,
		    sms_template_default(lang,
		        i ? SMS_TPL_ESCALATED : SMS_TPL_RAISED),
		    &v, out, sizeof(out));
	} else {
		v.ref = argv[2];
		v.by = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
		v.t = (time_t)atol(argv[4]);
		for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
			if (strcmp(argv[1], events[i].event) == 0)
				len = sms_template_expand(lang,
				    sms_template_default(lang, events[i].kind),
				    &v, out, sizeof(out));
	}
	print_json(json_pack("{s:s, s:i}", "text", out, "len", (int)len));
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sms_driver [-C connect_ms] [-T timeout_ms] [-D "
	    "deadline_ms] "
	    "[-c file] [-L nl|en] "
	    "check|send|cancel|format-alert|format-event|number ...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct driver d = {0};
	const char *conf = NULL, *cmd;
	enum sms_language lang = SMS_LANG_EN;
	long connect_ms = 5000, timeout_ms = 10000, deadline_ms = -1;
	size_t i;
	int ch, rc = 0;

	log_init("sms_driver", LOG_DEBUG, LOG_TO_STDERR);
	if (sodium_init() < 0)
		log_fatalx("sodium_init failed");
	tzset();
	while ((ch = getopt(argc, argv, "c:C:D:L:T:")) != -1) {
		switch (ch) {
		case 'L':
			if (sms_template_language(optarg, &lang) != 0)
				usage();
			break;
		case 'c':
			conf = optarg;
			break;
		case 'C':
			connect_ms = atol(optarg);
			break;
		case 'D':
			deadline_ms = atol(optarg);
			break;
		case 'T':
			timeout_ms = atol(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	if ((strcmp(cmd, "format-alert") == 0 ||
	        strcmp(cmd, "format-event") == 0) &&
	    argc == 5) {
		format(lang, argv);
		return 0;
	}
	if (strcmp(cmd, "number") == 0) {
		for (i = 1; i < (size_t)argc; i++)
			print_json(json_pack("{s:s, s:b}", "number", argv[i],
			    "valid", sms_number_valid(argv[i])));
		return 0;
	}
	if (conf == NULL)
		usage();
	if (deadline_ms < 0)
		deadline_ms =
		    strcmp(cmd, "cancel") == 0 ? 300 : timeout_ms + 5000;
	if (load(&d, conf) != 0)
		rc = 1;
	else if (strcmp(cmd, "check") == 0)
		print_json(json_pack("{s:b}", "check", 1));
	else if (strcmp(cmd, "send") == 0)
		rc = run_sends(&d, argc - 1, argv + 1, 0, connect_ms,
		    timeout_ms, deadline_ms);
	else if (strcmp(cmd, "cancel") == 0)
		rc = run_sends(&d, argc - 1, argv + 1, 1, connect_ms,
		    timeout_ms, deadline_ms);
	else
		usage();
	for (i = 0; i < d.ngw; i++)
		sms_gateway_clear(&d.gw[i]);
	free(d.dir);
	return rc;
}
