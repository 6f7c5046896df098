/* Small helpers shared by the daemon and the client. */
#ifndef ALERTRELAY_UTIL_H
#define ALERTRELAY_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ID_MAX 64 /* device, recipient and alert identifiers */
#define RFC3339_LEN 32

/* Identifiers: 1..64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
int id_valid(const char *s);
/* alert_id: exactly 32 lowercase hex characters (128 bits). */
int alert_id_valid(const char *s);
void alert_id_generate(char out[33]);

/* "2026-11-28T10:32:00Z" (seconds) or with milliseconds. */
void time_rfc3339(char out[RFC3339_LEN], time_t t);
void time_rfc3339_ms(char out[RFC3339_LEN], int64_t ms);
int time_rfc3339_parse(const char *s, time_t *out);
int64_t now_ms(void); /* wall clock, milliseconds */
int64_t monotonic_ms(void); /* monotonic clock, milliseconds */

/* "host:port" or "[v6]:port" into parts; host is malloc'd. */
int hostport_parse(const char *s, char **host, int *port);

/* Writes the message into err and returns -1, for "return errf(...)". */
int errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Strict integer parsing with bounds; -1 on error. */
int parse_long(const char *s, long min, long max, long *out);

/* A numeric configuration key: its name, where it lives in a struct
 * (offsetof) and its bounds. */
struct long_key {
	const char *name;
	size_t off;
	long min, max;
};

/* The key called name among keys[0..n): its value parsed into base +
 * off (parse_long's 0 or -1); 1 when name is none of them. */
int parse_long_key(const struct long_key *keys, size_t n, void *base,
    const char *name, const char *value);

#endif
