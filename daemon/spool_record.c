/*
 * Reading back one line of the spool file: the JSON record, checked for
 * every field spool.c uses, so that a torn, damaged or foreign line is
 * skipped instead of handing NULLs to the code that delivers alerts.
 * Pure: no I/O, no relay state (fuzz/fuzz_spool.c runs it).
 */
#include <stdio.h>
#include <string.h>

#include "spool_record.h"

/* A string of 1..max bytes without NUL, copied into out. */
static int
spool_record_str(json_t *o, const char *key, char *out, size_t max)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!json_is_string(v))
		return -1;
	n = json_string_length(v);
	if (n == 0 || n > max || strlen(json_string_value(v)) != n)
		return -1;
	if (out != NULL)
		memcpy(out, json_string_value(v), n + 1);
	return 0;
}

/* The deliveries of the first tier: [["rid","channel"], ...]. */
static int
spool_record_now(json_t *now)
{
	json_t *d, *rid, *ch;
	size_t i;

	if (now == NULL)
		return 0; /* none */
	if (!json_is_array(now))
		return -1;
	json_array_foreach(now, i, d)
	{
		rid = json_array_get(d, 0);
		ch = json_array_get(d, 1);
		if (!json_is_array(d) || json_array_size(d) != 2 ||
		    !json_is_string(rid) || !json_is_string(ch) ||
		    json_string_length(rid) == 0 ||
		    json_string_length(rid) > ID_MAX ||
		    json_string_length(ch) == 0 ||
		    json_string_length(ch) > SPOOL_CHANNEL_MAX)
			return -1;
	}
	return 0;
}

/* The ciphertext for each recipient: {"rid":"base64", ...}. */
static int
spool_record_cts(json_t *cts)
{
	const char *k;
	json_t *v;

	if (!json_is_object(cts))
		return -1;
	json_object_foreach(cts, k, v) if (!json_is_string(v)) return -1;
	return 0;
}

/* The ingest script's arguments, as far as the spool reads them. */
static int
spool_record_args(json_t *args, struct spool_record *rec)
{
	static const char *const strs[] = {"hash", "dev", "type", "created",
	    "received", "received_ms", "ref_local"};
	size_t i;

	if (!json_is_object(args) ||
	    spool_record_str(args, "aid", rec->aid, sizeof(rec->aid) - 1) !=
	        0 ||
	    !alert_id_valid(rec->aid))
		return -1;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (spool_record_str(args, strs[i], NULL, 1024) != 0)
			return -1;
	if (spool_record_now(json_object_get(args, "now")) != 0 ||
	    spool_record_cts(json_object_get(args, "cts")) != 0)
		return -1;
	rec->args = json_incref(args);
	return 0;
}

static int
spool_record_fields(json_t *o, struct spool_record *rec)
{
	const char *op = json_string_value(json_object_get(o, "op"));

	if (op == NULL)
		return -1;
	if (strcmp(op, "alert") == 0) {
		rec->op = SPOOL_ALERT;
		return spool_record_args(json_object_get(o, "args"), rec);
	}
	if (spool_record_str(o, "aid", rec->aid, sizeof(rec->aid) - 1) != 0 ||
	    !alert_id_valid(rec->aid))
		return -1;
	if (strcmp(op, "migrated") == 0 || strcmp(op, "stored") == 0) {
		rec->op = op[0] == 'm' ? SPOOL_MIGRATED : SPOOL_STORED;
		return 0;
	}
	if (strcmp(op, "done") == 0 || strcmp(op, "queued") == 0) {
		rec->op = op[0] == 'd' ? SPOOL_DONE : SPOOL_QUEUED;
		return spool_record_str(o, "rid", rec->rid, ID_MAX) != 0 ||
		        spool_record_str(o, "ch", rec->ch, SPOOL_CHANNEL_MAX) !=
		            0
		    ? -1
		    : 0;
	}
	return -1;
}

int
spool_record_parse(const char *line, size_t len, struct spool_record *rec)
{
	json_t *o;
	int rc;

	memset(rec, 0, sizeof(*rec));
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	rc = json_is_object(o) ? spool_record_fields(o, rec) : -1;
	json_decref(o);
	if (rc != 0)
		spool_record_clear(rec);
	return rc;
}

void
spool_record_clear(struct spool_record *rec)
{
	json_decref(rec->args);
	memset(rec, 0, sizeof(*rec));
}
