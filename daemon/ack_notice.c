/* The acknowledgement listener's own SMS, retried (ack_notice.h). */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "ack_notice.h"
#include "evtimer_ms.h"
#include "log.h"
#include "relay.h"
#include "sms_gateway.h"
#include "util.h"
#include "xmalloc.h"

struct ack_notice {
	TAILQ_ENTRY(ack_notice) entry;
	struct ack_notices *owner;
	char rid[ID_MAX + 1];
	char gw[ID_MAX + 1]; /* the gateway the reply came through */
	const char *kind; /* for the log: "confirmed", "hint" */
	char ref[16];
	char text[SMS_TEXT_MAX];
	int attempt; /* made so far */
	struct event *timer;
	struct http_req *req;
};

TAILQ_HEAD(ack_notice_list, ack_notice);

struct ack_notices {
	struct relay *relay;
	struct ack_notice_list pending;
};

struct ack_notices *
ack_notices_new(struct relay *relay)
{
	struct ack_notices *n = xcalloc(1, sizeof(*n));

	n->relay = relay;
	TAILQ_INIT(&n->pending);
	return n;
}

static void
ack_notice_free(struct ack_notice *an)
{
	TAILQ_REMOVE(&an->owner->pending, an, entry);
	if (an->req != NULL)
		sms_send_cancel(an->req);
	if (an->timer != NULL)
		event_free(an->timer);
	sodium_memzero(an->text, sizeof(an->text));
	free(an);
}

void
ack_notices_free(struct ack_notices *n)
{
	if (n == NULL)
		return;
	while (!TAILQ_EMPTY(&n->pending))
		ack_notice_free(TAILQ_FIRST(&n->pending));
	free(n);
}

/* As delivery_backoff_ms() in dispatch.c: doubling from
 * retry_initial_ms up to retry_max_ms, +-20%. */
static long
ack_notice_backoff_ms(const struct relay_config *cfg, int attempt)
{
	long ms = cfg->retry_initial_ms;
	int i;

	for (i = 1; i < attempt && ms < cfg->retry_max_ms; i++)
		ms *= 2;
	if (ms > cfg->retry_max_ms)
		ms = cfg->retry_max_ms;
	return ms * 8 / 10 +
	    (long)randombytes_uniform((uint32_t)(ms * 4 / 10 + 1));
}

static void ack_notice_attempt(struct ack_notice *an);

static void
ack_notice_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ack_notice_attempt(arg);
}

static void
ack_notice_cb(int ok, long status, const char *error, void *arg)
{
	struct ack_notice *an = arg;
	const struct relay_config *cfg = an->owner->relay->cfg;

	an->req = NULL;
	/* Queued by the gateway: it sends it once its link is back, and a
	 * resend would only queue a copy (sms_gateway.h). */
	if (ok) {
		log_info("sms notice kind=%s recipient=%s result=%s status=%ld "
		         "attempt=%d",
		    an->kind, an->rid, ok == SMS_QUEUED ? "queued" : "ok",
		    status, an->attempt);
		ack_notice_free(an);
		return;
	}
	if (an->attempt >= cfg->max_attempts) {
		log_warnx("sms notice kind=%s recipient=%s result=failed "
		          "status=%ld attempt=%d error=\"%s\": given up",
		    an->kind, an->rid, status, an->attempt, error ? error : "");
		ack_notice_free(an);
		return;
	}
	log_warnx("sms notice kind=%s recipient=%s result=retry status=%ld "
	          "attempt=%d error=\"%s\"",
	    an->kind, an->rid, status, an->attempt, error ? error : "");
	if (an->timer == NULL)
		an->timer = evtimer_new(an->owner->relay->base,
		    ack_notice_timer_cb, an);
	evtimer_add_ms(an->timer, ack_notice_backoff_ms(cfg, an->attempt));
}

/* The recipient and gateway are looked up again each time: a reload in
 * between may have changed or removed them. */
static void
ack_notice_attempt(struct ack_notice *an)
{
	const struct relay_config *cfg = an->owner->relay->cfg;
	const struct recipient_entry *r = relay_config_recipient(cfg, an->rid);
	const struct sms_gateway *gw = NULL;

	if (r != NULL && r->sms != NULL &&
	    (gw = relay_config_gateway(cfg, r->sms_gateway)) == NULL)
		gw = relay_config_gateway(cfg, an->gw);
	if (gw == NULL) {
		log_warnx("sms notice kind=%s recipient=%s: no number or "
		          "gateway any more: dropped",
		    an->kind, an->rid);
		ack_notice_free(an);
		return;
	}
	an->attempt++;
	an->req = sms_send(an->owner->relay->http, gw, r->sms, an->text,
	    an->ref[0] != '\0' ? an->ref : NULL, NULL,
	    cfg->connect_timeout * 1000, cfg->request_timeout * 1000,
	    ack_notice_cb, an);
	if (an->req == NULL)
		ack_notice_free(an); /* refused before sending: logged */
}

void
ack_notice_send(struct ack_notices *n, const char *rid, const char *gw_name,
    enum sms_template_kind kind, const char *ref, int drill)
{
	const struct relay_config *cfg = n->relay->cfg;
	const struct recipient_entry *r = relay_config_recipient(cfg, rid);
	struct sms_template_vars v = {0};
	enum sms_language lang;
	const char *tpl = relay_config_sms_template(cfg, kind, &lang);
	struct ack_notice *an;

	if (r == NULL || r->sms == NULL)
		return;
	an = xcalloc(1, sizeof(*an));
	an->owner = n;
	snprintf(an->rid, sizeof(an->rid), "%s", rid);
	snprintf(an->gw, sizeof(an->gw), "%s", gw_name ? gw_name : "");
	snprintf(an->ref, sizeof(an->ref), "%s", ref ? ref : "");
	an->kind = sms_template_key(kind) + strlen("sms_template_");
	v.ref = ref;
	v.drill = drill;
	v.by = r->alias ? r->alias : r->id;
	v.t = time(NULL);
	TAILQ_INSERT_TAIL(&n->pending, an, entry);
	if (sms_template_expand(lang, tpl, &v, an->text, sizeof(an->text)) ==
	    0) {
		ack_notice_free(an);
		return;
	}
	log_info("sms notice kind=%s recipient=%s", an->kind, rid);
	ack_notice_attempt(an);
}
