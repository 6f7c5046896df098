/*
 * SMS replies from gateways to the acknowledgement listener: "OK <ref>"
 * from a recipient's number acknowledges; anything else from it gets a
 * short SMS saying how to reply (ack_int.h).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "ack_hint.h"
#include "ack_int.h"
#include "ack_notice.h"
#include "log.h"
#include "relay.h"
#include "sms_template.h"
#include "store.h"
#include "store_scripts.h"
#include "xmalloc.h"

/* A hint on its way: it says OEFENING when the last alarm SMS to that
 * recipient was a drill, which Redis knows. */
struct ack_hinting {
	struct ack *a;
	struct store_req *sreq;
	char rid[ID_MAX + 1];
	char gateway[ID_MAX + 1];
	struct ack_hinting *next;
};

/* The recipients with that number, from the i-th on: the first, or
 * NULL. */
static const struct recipient_entry *
ack_number_owner_from(const struct relay_config *cfg, const char *number,
    size_t *i)
{
	char b[ACK_NUMBER_MAX];

	for (; *i < cfg->nrecipients; (*i)++) {
		if (cfg->recipients[*i].sms == NULL)
			continue;
		ack_parse_number(cfg->recipients[*i].sms, b, sizeof(b));
		if (strcmp(number, b) == 0)
			return &cfg->recipients[(*i)++];
	}
	return NULL;
}

static const struct recipient_entry *
ack_number_owner(const struct relay_config *cfg, const char *number)
{
	size_t i = 0;

	return ack_number_owner_from(cfg, number, &i);
}

/* Everyone with that number, [rid, alias] in the configuration's order:
 * a shared duty phone is one number for several recipients, and the
 * reply is theirs who was sent the reference (script_ack). */
static json_t *
ack_number_owners(const struct relay_config *cfg, const char *number)
{
	const struct recipient_entry *r;
	json_t *out = json_array();
	size_t i = 0;

	while ((r = ack_number_owner_from(cfg, number, &i)) != NULL)
		json_array_append_new(out,
		    json_pack("[s, s]", r->id, r->alias ? r->alias : r->id));
	return out;
}

/* The gateway's token, from where the configuration lets it come. */
static int
ack_mo_token_ok(struct ack *a, const struct sms_gateway *gw,
    const struct ack_mo *mo)
{
	size_t n = strlen(mo->token);

	if (mo->token_source == ACK_TOKEN_QUERY && !gw->mo_token_in_query) {
		if (ack_log_due(a, ACK_LOG_QUERY_TOKEN))
			log_warnx("sms reply via %s refused: token in the URL "
			          "query, which access logs keep; send it in a "
			          "header (or set mo_token_in_query = yes)",
			    gw->name);
		return 0;
	}
	if (gw->mo_token == NULL || mo->token_source == ACK_TOKEN_NONE ||
	    n != strlen(gw->mo_token) ||
	    sodium_memcmp(mo->token, gw->mo_token, n) != 0) {
		if (ack_log_due(a, ACK_LOG_BAD_TOKEN))
			log_info("sms reply via %s refused: bad token",
			    gw->name);
		return 0;
	}
	if (mo->token_source == ACK_TOKEN_QUERY &&
	    ack_log_due(a, ACK_LOG_QUERY_TAKEN))
		log_warnx("sms replies via %s carry the token in the URL "
		          "query, "
		          "which access logs keep: send it in a header",
		    gw->name);
	return 1;
}

static void
ack_hinting_unlink(struct ack_hinting *h)
{
	struct ack_hinting **pp;

	for (pp = &h->a->hinting; *pp != NULL; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	free(h);
}

/* Without Redis the hint goes anyway, unmarked: how to reply is never
 * mistaken for an alarm. */
static void
ack_hint_cb(json_t *reply, const char *err, void *arg)
{
	struct ack_hinting *h = arg;

	(void)err;
	h->sreq = NULL;
	ack_notice_send(h->a->notices, h->rid, h->gateway, SMS_TPL_HINT, NULL,
	    json_is_true(json_object_get(reply, "drill")));
	ack_hinting_unlink(h);
}

/* A reply that was not OK <ref>: a short SMS back saying how to reply,
 * unless the reply looks like an SMS of ours (another machine echoing
 * it: answering would start a loop) or that number had one recently. */
static void
ack_hint(struct ack *a, const struct sms_gateway *gw,
    const struct recipient_entry *r, const struct ack_mo *mo)
{
	const struct relay_config *cfg = a->relay->cfg;
	struct ack_hinting *h;
	size_t i;

	for (i = 0; i < SMS_TPL_N; i++)
		if (sms_template_looks_ours(mo->text, cfg->sms_templates[i])) {
			log_info("sms reply via %s from recipient=%s looks "
			         "like one of ours: no hint",
			    gw->name, r->id);
			return;
		}
	if (a->hints == NULL)
		a->hints = ack_hint_new();
	if (!ack_hint_take(a->hints, mo->from, now_ms(),
	        (int64_t)cfg->sms_hint_interval * 60000)) {
		log_info("sms reply via %s from recipient=%s: hint sent "
		         "recently, none now",
		    gw->name, r->id);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->a = a;
	snprintf(h->rid, sizeof(h->rid), "%s", r->id);
	snprintf(h->gateway, sizeof(h->gateway), "%s", gw->name);
	h->next = a->hinting;
	a->hinting = h;
	h->sreq = store_eval(a->relay->store, script_lastsms,
	    json_pack("{s:s}", "rid", r->id), ack_hint_cb, h);
}

/* A reply from a recipient's number: counted against the limits of
 * failed replies (ack_limit.h) before it is looked at. */
static void
ack_sms_from(struct ack *a, struct evhttp_request *req,
    const struct sms_gateway *gw, const struct recipient_entry *r,
    const struct ack_mo *mo)
{
	struct ack_limit_conf c;
	struct ack_pending *p;
	enum ack_limit_took took;

	ack_limit_conf(a->relay->cfg, &c);
	if (a->limit == NULL)
		a->limit = ack_limit_new();
	took =
	    ack_limit_take(a->limit, &c, gw->name, mo->from, r->id, now_ms());
	if (took == ACK_LIMIT_REFUSED) {
		ack_error(req, 429, "Too Many Requests", "try again later");
		return;
	}
	if (!mo->text_ok) {
		/* The text may be anything a person typed: not logged. */
		log_info("sms reply via %s from recipient=%s: not OK <ref>",
		    gw->name, r->id);
		ack_hint(a, gw, r, mo);
		ack_error(req, 404, "Not Found", "expected OK <ref>");
		return;
	}
	p = xcalloc(1, sizeof(*p));
	snprintf(p->channel, sizeof(p->channel), "sms");
	snprintf(p->gateway, sizeof(p->gateway), "%s", gw->name);
	snprintf(p->number, sizeof(p->number), "%s", mo->from);
	snprintf(p->ref, sizeof(p->ref), "%s", mo->ref);
	p->took = took;
	p->owners = ack_number_owners(a->relay->cfg, mo->from);
	ack_submit(a, req, r, p, NULL, mo->ref);
}

void
ack_sms(struct ack *a, struct evhttp_request *req, const char *path,
    const char *query)
{
	const struct relay_config *cfg = a->relay->cfg;
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const struct sms_gateway *gw;
	const struct recipient_entry *r;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct ack_mo mo;
	char body[ACK_BODY_MAX + 1];
	size_t len = 0;
	int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;

	gw = relay_config_gateway(cfg, path + strlen("/v1/sms/"));
	if (post) {
		len = evbuffer_copyout(in, body, ACK_BODY_MAX);
		body[len] = '\0';
	}
	if (gw == NULL ||
	    ack_parse_mo(query, post ? body : NULL,
	        evhttp_find_header(h, "Authorization"),
	        evhttp_find_header(h, "X-Alertrelay-Token"), &mo) != 0)
		ack_error(req, 404, "Not Found", "no such gateway");
	else if (!ack_mo_token_ok(a, gw, &mo))
		ack_error(req, 403, "Forbidden", "bad token");
	else if (mo.from[0] == '\0' || !mo.has_text ||
	    (r = ack_number_owner(cfg, mo.from)) == NULL) {
		if (ack_log_due(a, ACK_LOG_UNKNOWN_NUMBER))
			log_info("sms reply via %s from an unknown number",
			    gw->name);
		ack_error(req, 404, "Not Found", "unknown number");
	} else
		ack_sms_from(a, req, gw, r, &mo);
	sodium_memzero(&mo, sizeof(mo));
	sodium_memzero(body, len);
}

void
ack_sms_close(struct ack *a)
{
	while (a->hinting != NULL) {
		store_req_cancel(a->hinting->sreq);
		ack_hinting_unlink(a->hinting);
	}
}
