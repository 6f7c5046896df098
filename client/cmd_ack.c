/*
 * alertctl ack: a person at the contact point acknowledges an alert on
 * the relay's HTTPS ack listener (docs/PROTOCOL.md, "Acknowledgements"),
 * by the reference in the SMS or on the receiver (K7Q2M9XD) or by its
 * alert id:
 *
 *	POST {url}/v1/alerts/{REF or alert_id}/ack
 *	Authorization: Bearer <recipient token>
 *
 * over TLS 1.3, the relay's key checked against a pin or its certificate
 * against a CA file.  Where the relay is comes from the options or from
 * [contactpoint] in alertctl.conf (cp_http.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alertctl.h"
#include "cmd_ack_sign.h"
#include "cp_http.h"
#include "frame.h"
#include "i18n.h"
#include "log.h"
#include "out.h"
#include "text_char.h"
#include "usage.h"
#include "util.h"
#include "xmalloc.h"

/* Tries of an acknowledgement the relay answers 429, this far apart. */
#define CMD_ACK_TRIES 3
#define CMD_ACK_WAIT_S 2

#define ACK_REF_LEN 8
#define ACK_REF_ALPHABET "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

struct ack_opts {
	char target[33]; /* the alert id, or the reference */
	int by_ref;
	struct cp_http h;
	struct cmd_ack_sign sign; /* the signed statement's fields */
};

enum {
	OPT_SIGN_KEY = CP_HTTP_OPT_OWN,
	OPT_BY,
	OPT_ON_THE_WAY,
	OPT_CLOSED,
	OPT_MESSAGE,
	OPT_UNSIGNED,
};

/* A reference as people type it from a phone: any case, spaces or a
 * dash between its halves ("k7q2-m9xd").  0 with it upper-cased. */
static int
cmd_ack_ref(const char *in, char out[ACK_REF_LEN + 1])
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		char c = *in;

		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (n == ACK_REF_LEN || strchr(ACK_REF_ALPHABET, c) == NULL)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == ACK_REF_LEN ? 0 : -1;
}

static int
cmd_ack_target(struct ack_opts *o, const char *arg)
{
	if (arg == NULL)
		return usage_error("ack",
		    _("which alert? Give its reference from the SMS or the "
		      "receiver (alertctl ack K7Q2M9XD)"));
	if (alert_id_valid(arg)) {
		snprintf(o->target, sizeof(o->target), "%s", arg);
		return 0;
	}
	if (cmd_ack_ref(arg, o->target) == 0) {
		o->by_ref = 1;
		return 0;
	}
	return usage_error("ack",
	    _("'%s' is not a reference (8 letters and digits, as in the SMS: "
	      "K7Q2M9XD) nor an alert id (32 hex digits)"),
	    arg);
}

static int
cmd_ack_opt(struct ack_opts *o, int ch)
{
	int rc;

	if (cp_http_opt(&o->h, ch, &rc))
		return rc;
	switch (ch) {
	case OPT_SIGN_KEY:
		o->sign.sign_key = optarg;
		break;
	case OPT_BY:
		/* the relay's rule (text_char.h): told here, not by its 400 */
		if (!text_ok(optarg, 64))
			return usage_error("ack",
			    _("--by must be 1..64 bytes without control "
			      "characters or bidi overrides"));
		o->sign.by = optarg;
		break;
	case OPT_ON_THE_WAY:
		o->sign.kind = "on_the_way";
		break;
	case OPT_CLOSED:
		o->sign.kind = "closed";
		o->sign.outcome = optarg;
		break;
	case OPT_MESSAGE:
		o->sign.message = optarg;
		break;
	case OPT_UNSIGNED:
		o->sign.unsigned_ok = 1;
		break;
	default:
		return usage_error("ack", _("bad option"));
	}
	return 0;
}

static int
cmd_ack_parse(int argc, char **argv, struct ack_opts *o)
{
	static const struct option longopts[] = {
	    CP_HTTP_LONGOPTS,
	    {"sign-key", required_argument, NULL, OPT_SIGN_KEY},
	    {"by", required_argument, NULL, OPT_BY},
	    {"on-the-way", no_argument, NULL, OPT_ON_THE_WAY},
	    {"closed", required_argument, NULL, OPT_CLOSED},
	    {"message", required_argument, NULL, OPT_MESSAGE},
	    {"unsigned", no_argument, NULL, OPT_UNSIGNED},
	    {NULL, 0, NULL, 0},
	};
	int ch, rc;

	memset(o, 0, sizeof(*o));
	cp_http_init(&o->h, "ack");
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1)
		if ((rc = cmd_ack_opt(o, ch)) != 0)
			return rc;
	if (argc - optind > 1)
		return usage_error("ack", _("unexpected argument '%s'"),
		    argv[optind + 1]);
	return cmd_ack_target(o, argc - optind == 1 ? argv[optind] : NULL);
}

static int
cmd_ack_answer(const struct ack_opts *o, const struct http_reply *r)
{
	char by[128], detail[256] = "";
	const char *msg, *aid;
	json_t *body;
	int first = 0, known;

	body = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	if (r->status != 200) {
		if ((msg = json_str(body, "message")) != NULL ||
		    (msg = json_str(body, "error")) != NULL)
			out_clean(msg, detail, sizeof(detail));
		log_warnx(_("alert %s NOT acknowledged: %s (HTTP %ld%s%s)"),
		    o->target, cp_http_meaning(r), r->status,
		    detail[0] != '\0' ? ": " : "", detail);
		json_decref(body);
		return EXIT_FAIL;
	}
	known = json_bool_get(body, "first", &first) == 0;
	out_clean(json_str(body, "by") != NULL ? json_str(body, "by") : "?", by,
	    sizeof(by));
	aid = json_str(body, "alert_id");
	out_line(_("acknowledged %s as %s (%s)"), o->target, by,
	    !known      ? _("answer incomplete")
	        : first ? _("first")
	                : _("already acknowledged"));
	if (o->h.body != NULL)
		out_line(_("signed: the official's device can check that it "
		           "was you"));
	if (o->by_ref && aid != NULL && alert_id_valid(aid))
		out_line("alert_id=%s", aid);
	json_decref(body);
	return EXIT_OK;
}

int
cmd_ack(int argc, char **argv, struct globals *g)
{
	char err[CURL_ERROR_SIZE] = "", *path, *body = NULL;
	struct http_reply *r;
	struct ack_opts o;
	int rc, tries;

	if ((rc = cmd_ack_parse(argc, argv, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	if ((rc = cp_http_resolve(&o.h, g->config)) != 0) {
		cp_http_free(&o.h);
		return rc;
	}
	if ((rc = cmd_ack_sign_body(&o.h, &o.sign, o.target, &body)) != 0) {
		log_warnx(_("alert %s NOT acknowledged"), o.target);
		cp_http_free(&o.h);
		return rc;
	}
	o.h.body = body;
	r = xcalloc(1, sizeof(*r));
	path = xasprintf("/v1/alerts/%s/ack", o.target);
	rc = cp_http_request(&o.h, path, r, err);
	/* The relay's 429: the recipient's request rate (a flood with a
	 * leaked token, most likely) refills within seconds (its
	 * Retry-After is 1 s): tried again a few times before giving up. */
	for (tries = 1; rc == 0 && r->status == 429 && tries < CMD_ACK_TRIES;
	     tries++) {
		log_warnx(_("the relay is limiting this token's requests: "
		            "trying again in %d s"),
		    CMD_ACK_WAIT_S);
		sleep(CMD_ACK_WAIT_S);
		memset(r, 0, sizeof(*r));
		rc = cp_http_request(&o.h, path, r, err);
	}
	if (rc > 0)
		log_warnx(_("alert %s NOT acknowledged: %s"), o.target, err);
	rc = rc == 0 ? cmd_ack_answer(&o, r) : EXIT_FAIL;
	free(path);
	free(body);
	free(r);
	cp_http_free(&o.h);
	return rc;
}
