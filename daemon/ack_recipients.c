/* The ack listener's table of per-recipient state (ack_recipients.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_recipients.h"
#include "util.h"
#include "xmalloc.h"

#define ACK_RECIPIENTS_MAX 4096
/* Where an entry's bytes start, and every entry: aligned for any type. */
#define ACK_RECIPIENTS_ALIGN(n)                                                \
	(((n) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))
#define ACK_RECIPIENTS_AT ACK_RECIPIENTS_ALIGN(ID_MAX + 1)

struct ack_recipients {
	unsigned char *e; /* n entries: the id, then the owner's bytes */
	size_t stride, n, cap;
};

struct ack_recipients *
ack_recipients_new(size_t size)
{
	struct ack_recipients *t = xcalloc(1, sizeof(*t));

	t->stride = ACK_RECIPIENTS_ALIGN(ACK_RECIPIENTS_AT + size);
	return t;
}

void
ack_recipients_free(struct ack_recipients *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t);
}

void *
ack_recipients_get(struct ack_recipients *t, const char *rid, int *made)
{
	unsigned char *e;
	size_t i;

	*made = 0;
	for (i = 0; i < t->n; i++) {
		e = t->e + i * t->stride;
		if (strcmp((const char *)e, rid) == 0)
			return e + ACK_RECIPIENTS_AT;
	}
	if (t->n == ACK_RECIPIENTS_MAX)
		t->n = 0;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->e = xreallocarray(t->e, t->cap, t->stride);
	}
	e = t->e + t->n++ * t->stride;
	memset(e, 0, t->stride);
	snprintf((char *)e, ID_MAX + 1, "%s", rid);
	*made = 1;
	return e + ACK_RECIPIENTS_AT;
}
