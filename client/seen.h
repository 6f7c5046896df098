/*
 * The webhook ids already written out, so that a relay's retry of a
 * delivered webhook is acknowledged without printing the alert twice.
 * Bounded: beyond cap ids the oldest is forgotten.
 */
#ifndef ALERTCTL_SEEN_H
#define ALERTCTL_SEEN_H

#include <stddef.h>

#define SEEN_CAP_DEFAULT 100000

struct seen *seen_new(size_t cap);
int seen_has(const struct seen *s, const char *id);
void seen_add(struct seen *s, const char *id);
void seen_free(struct seen *s);
/* How many ids are held, and the i-th of them, oldest first. */
size_t seen_count(const struct seen *s);
const char *seen_at(const struct seen *s, size_t i);

#endif
