/*
 * The records of the spool file (spool_dir/spool.log), one JSON object a
 * line, as spool.c appends them:
 *   {"op":"alert","args":{...}}          the ingest script's arguments
 *   {"op":"done","aid":..,"rid":..,"ch":..}  delivered from the spool
 *   {"op":"queued","aid":..,"rid":..,"ch":..}  an SMS gateway keeps it
 *                                        (never sent again)
 *   {"op":"stored","aid":..}             in Redis, not yet on
 *                                        [redis] min_replicas replicas
 *   {"op":"migrated","aid":..}           moved into Redis
 * and the check that a line read back is one of them, with every field
 * spool.c relies on: a torn last line, or a damaged or foreign file,
 * is refused line by line, never trusted.
 */
#ifndef ALERTRELAY_SPOOL_RECORD_H
#define ALERTRELAY_SPOOL_RECORD_H

#include <stddef.h>

#include <jansson.h>

#include "util.h"

#define SPOOL_CHANNEL_MAX 15 /* "webhook", "sms" */

enum spool_op {
	SPOOL_ALERT,
	SPOOL_DONE,
	SPOOL_QUEUED,
	SPOOL_STORED,
	SPOOL_MIGRATED
};

struct spool_record {
	enum spool_op op;
	char aid[33]; /* 32 hex digits */
	json_t *args; /* SPOOL_ALERT: a reference of the caller's */
	char rid[ID_MAX + 1]; /* SPOOL_DONE, SPOOL_QUEUED */
	char ch[SPOOL_CHANNEL_MAX + 1]; /* SPOOL_DONE, SPOOL_QUEUED */
};

/* One line (without its newline, or with it): 0 with rec filled, or -1
 * when it is not a whole record. */
int spool_record_parse(const char *line, size_t len, struct spool_record *rec);
void spool_record_clear(struct spool_record *rec);

#endif
