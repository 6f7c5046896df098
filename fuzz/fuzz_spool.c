/*
 * libFuzzer target: reading back the spool file (daemon/spool_record.c),
 * as alertrelayd does at start.  The file is the relay's own, but a
 * crash tears its last line and a disk can damage any of it: each line
 * is parsed as spool_replay() parses it, and what is accepted must hold
 * every field the spool later reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool_record.h"

static void
check(int ok)
{
	if (!ok)
		abort();
}

/* What spool.c reads from an accepted record, never NULL. */
static void
check_record(const struct spool_record *rec)
{
	static const char *const strs[] = {"aid", "hash", "dev", "type",
	    "created", "received", "received_ms", "ref_local"};
	json_t *d;
	size_t i;

	check(alert_id_valid(rec->aid));
	if (rec->op == SPOOL_DONE || rec->op == SPOOL_QUEUED)
		check(rec->rid[0] != '\0' && rec->ch[0] != '\0');
	/* A mark of an alert's, nothing more: no arguments to free or read. */
	if (rec->op == SPOOL_STORED || rec->op == SPOOL_MIGRATED)
		check(rec->args == NULL && rec->rid[0] == '\0');
	if (rec->op != SPOOL_ALERT)
		return;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		check(json_string_value(json_object_get(rec->args, strs[i])) !=
		    NULL);
	check(strcmp(rec->aid,
	          json_string_value(json_object_get(rec->args, "aid"))) == 0);
	json_array_foreach(json_object_get(rec->args, "now"), i, d)
	{
		check(json_string_value(json_array_get(d, 0)) != NULL);
		check(json_string_value(json_array_get(d, 1)) != NULL);
	}
	check(json_is_object(json_object_get(rec->args, "cts")));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct spool_record rec;
	size_t len;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (spool_record_parse(p, len, &rec) == 0) {
			check_record(&rec);
			spool_record_clear(&rec);
		}
		p += len;
	}
	return 0;
}
