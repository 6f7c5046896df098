/*
 * libFuzzer target: what `alertctl receive` reads from a webhook request
 * before any key is used.  The input is the three Standard Webhooks
 * headers, one a line (webhook-id, webhook-timestamp, webhook-signature),
 * then the body.  The headers and body go through the receiver's own
 * checks (hook_parse.c) and the signature check (webhook_sig.c), which
 * parses the signature header of anyone who can reach the receiver.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "webhook_sig.h"

/* The next line of [*p, end) as a C string (caller frees). */
static char *
fuzz_line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (nl != NULL ? nl : end) - *p;
	char *s = malloc(n + 1);

	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl != NULL ? nl + 1 : end;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char secret[32] = {1, 2, 3};
	const char *p = (const char *)data, *end = p + size;
	struct hook_request req;
	struct hook_reply reply;
	struct hook_body b;
	char *id = fuzz_line(&p, end), *ts = fuzz_line(&p, end),
	     *sig = fuzz_line(&p, end);

	memset(&req, 0, sizeof(req));
	req.id = id;
	req.timestamp = ts;
	req.signature = sig;
	req.body = p;
	req.bodylen = (size_t)(end - p);
	if (hook_parse_headers(&req, &reply) == 0)
		(void)webhook_verify(secret, sizeof(secret), req.id,
		    req.timestamp, req.body, req.bodylen, req.signature);
	if (hook_parse_body(&req, &b, &reply) == 0)
		(void)hook_is_alert_event(b.type);
	json_decref(b.o);
	free(id);
	free(ts);
	free(sig);
	return 0;
}
