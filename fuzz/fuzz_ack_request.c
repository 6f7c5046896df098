/*
 * libFuzzer target: what the ack listener and the admin listener parse
 * of a request from the network (daemon/ack_parse.c, sms_report.c's
 * delivery reports, admin_auth.c),
 * without a relay.  The input is up to seven fields split at '\n': the
 * path, the query string, the POSTed body, Authorization,
 * X-Alertrelay-Token, the SMS text (OK, ACK or JA <ref>) and Host; an empty
 * body field stands for a GET.  What a parser claims to have found is checked
 * too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ack_parse.h"
#include "admin_auth.h"
#include "http_host.h"
#include "sms_report.h"
#include "text_char.h"

#define FIELDS 7

static void
check_ref(const char *ref)
{
	size_t i;

	if (strlen(ref) != ACK_REF_LEN)
		abort();
	for (i = 0; i < ACK_REF_LEN; i++)
		if (strchr(ack_ref_alphabet, ref[i]) == NULL)
			abort();
}

static void
check_mo(const struct ack_mo *mo)
{
	if (mo->from[0] != '\0' && mo->from[0] != '+')
		abort();
	if (mo->text_ok)
		check_ref(mo->ref);
	if (!mo->has_text && mo->text[0] != '\0')
		abort();
	if (memchr(mo->text, '\0', sizeof(mo->text)) == NULL)
		abort();
	if (mo->token_source != ACK_TOKEN_NONE &&
	    (mo->token[0] == '\0' || strlen(mo->token) > ACK_TOKEN_MAX))
		abort();
}

/* GET /v1/sms/<gateway>/report?a=..&r=..&c=..&type=.. */
static void
fuzz_report(const char *query)
{
	struct sms_report_fields r;

	if (sms_report_parse(query, &r) == 0 &&
	    (!alert_id_valid(r.aid) || !id_valid(r.rid) ||
	        strlen(r.cred) != SMS_REPORT_CRED_LEN))
		abort();
	if (r.type != 0 && r.type != SMS_REPORT_DELIVERED &&
	    r.type != SMS_REPORT_FAILED && r.type != SMS_REPORT_SMSC_FAILED)
		abort();
}

static void
fuzz_admin(const char *host, const char *auth)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(9464);
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)http_host_local(host, (struct sockaddr *)&s4);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(9464);
	s6.sin6_addr = in6addr_loopback;
	(void)http_host_local(host, (struct sockaddr *)&s6);
	(void)http_host_named(host, "console.example.nl");
	(void)admin_auth_token(auth, "0123456789abcdef0123");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *f[FIELDS] = {0}, *p, *nl;
	char aid[33], ref[ACK_REF_LEN + 1], num[ACK_NUMBER_MAX],
	    again[ACK_NUMBER_MAX];
	char tok[ACK_TOKEN_MAX + 1];
	struct ack_mo mo;
	char by[ACK_BY_MAX + 1];
	long hours;
	size_t i;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0, p = buf; i < FIELDS && p != NULL; i++) {
		f[i] = p;
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		p = nl;
	}
	if (f[0] != NULL && ack_parse_alert_path(f[0], aid) == 0 &&
	    strlen(aid) != 32)
		abort();
	/* POST /v1/alerts/<REF>/ack, GET /v1/inbox?hours=N */
	if (f[0] != NULL && ack_parse_ref_path(f[0], ref) == 0)
		check_ref(ref);
	if (f[1] != NULL && ack_parse_inbox_query(f[1], &hours) == 0 &&
	    (hours < 1 || hours > ACK_INBOX_HOURS_MAX))
		abort();
	(void)ack_parse_bearer(f[3]);
	fuzz_report(f[1]);
	if (f[1] != NULL &&
	    ack_parse_mo(f[1], f[2] && f[2][0] ? f[2] : NULL, f[3], f[4],
	        &mo) == 0)
		check_mo(&mo);
	if (ack_parse_mo_header(f[3], f[4], tok) == 0 &&
	    (tok[0] == '\0' || strlen(tok) > ACK_TOKEN_MAX))
		abort();
	if (f[5] != NULL) {
		if (ack_parse_text(f[5], ref) == 0) {
			check_ref(ref);
			/* OK, ACK or JA is the word it starts with */
			p = f[5] + strspn(f[5], " \t\r\n\v\f.,;:!?'\"()-");
			if (strncasecmp(p, "ok", 2) != 0 &&
			    strncasecmp(p, "ja", 2) != 0 &&
			    strncasecmp(p, "ack", 3) != 0)
				abort();
		}
		ack_parse_number(f[5], num, sizeof(num));
		/* a number as parsed is parsed to itself: the sender's and
		 * the configured one meet whatever form either came in */
		ack_parse_number(num, again, sizeof(again));
		if (num[0] != '+' || strcmp(num, again) != 0)
			abort();
		ack_parse_number(f[5], num, 1);
	}
	fuzz_admin(f[6], f[3]);
	/* the whole input as an ack body ({"by":NAME}) */
	/* a name taken is one alertctl and alertconsole show whole */
	if (ack_parse_by((const char *)data, size, by) == 0 &&
	    !text_ok(by, ACK_BY_MAX))
		abort();
	free(buf);
	return 0;
}
