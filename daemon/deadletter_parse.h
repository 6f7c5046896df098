/*
 * What the admin listener parses of a dead-letter request from the
 * network, as pure functions (fuzzed by fuzz/fuzz_deadletter.c): the
 * ?limit= of GET /deadletter and the JSON body of POST
 * /deadletter/replay.
 */
#ifndef ALERTRELAY_DEADLETTER_PARSE_H
#define ALERTRELAY_DEADLETTER_PARSE_H

#include <stddef.h>

#include <jansson.h>

#define DEADLETTER_LIMIT_DEFAULT 100
#define DEADLETTER_LIMIT_MAX 1000
#define DEADLETTER_IDS_MAX 200 /* the answer fits alertctl's 64 KiB */

/* limit=N of query (may be NULL): N, the default without one, or -1
 * when malformed or out of 1..DEADLETTER_LIMIT_MAX. */
long deadletter_parse_limit(const char *query);

/* 1 when id is a stream entry id ("1700000000000-0"). */
int deadletter_id_valid(const char *id);

/* {"ids":[ID, ...]} or {"all":true} into script_deadletter_replay's
 * arguments (a new reference), or NULL with *why set. */
json_t *deadletter_parse_replay(const char *body, size_t len, const char **why);

#endif
