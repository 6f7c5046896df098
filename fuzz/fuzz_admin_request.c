/*
 * libFuzzer target: what the admin listener parses of GET /audit and
 * POST /device/forget (daemon/lifecycle_parse.c), without a relay.  The
 * input is the query string of GET /audit, '\n', then the POSTed body of
 * /device/forget.  What the parsers claim is checked too: a count in
 * range, an instance without ':', a stream id, identifiers that are ids.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle_parse.h"

static void
check_audit(const char *query)
{
	struct lifecycle_audit_args a;

	if (lifecycle_parse_audit(query, "relay-1", &a) != 0)
		return;
	if (a.count < 1 || a.count > AUDIT_PAGE_MAX ||
	    strchr(a.inst, ':') != NULL || !lifecycle_stream_id_valid(a.after))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t qlen = nl ? (size_t)(nl - (const char *)data) : size;
	char *query = strndup((const char *)data, qlen);
	char dev[ID_MAX + 1], by[ID_MAX + 1];

	check_audit(query);
	free(query);
	if (nl != NULL &&
	    lifecycle_parse_forget(nl + 1, size - qlen - 1, dev, by) == 0 &&
	    (!id_valid(dev) || !id_valid(by)))
		abort();
	return 0;
}
