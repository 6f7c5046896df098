/*
 * libFuzzer target: the audit log's records as `alertctl audit verify`
 * and `export` read them (common/audit_record.c, client/audit_verify.c)
 * from an audit file, an export or the relay: every line parsed and fed
 * to the chain checks; a record that parses must be written back to a
 * line that parses to the same record.  A hostile file must be
 * reported, never crash the verifier.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_record.h"
#include "audit_verify.h"

static void
fuzz_round_trip(const char *line, size_t len)
{
	struct audit_record a, b;
	const char *why;
	char *again;

	if (audit_record_parse(line, len, &a, &why) != 0)
		return;
	if ((again = audit_record_line(&a)) == NULL)
		return;
	if (audit_record_parse(again, strlen(again), &b, &why) != 0 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char pk[crypto_sign_PUBLICKEYBYTES] = {1};
	struct audit_verify v;
	const char *p = (const char *)data, *end = p + size, *nl;

	audit_verify_init(&v, pk, NULL, NULL);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		fuzz_round_trip(p, (size_t)(nl - p));
		(void)audit_verify_line(&v, p, (size_t)(nl - p));
		p = nl + 1;
	}
	(void)audit_verify_end(&v);
	audit_verify_free(&v);
	return 0;
}
