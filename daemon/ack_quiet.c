/*
 * The per-recipient budget of acknowledgement log lines and audit
 * records (ack_quiet.h).  Recipients come from the configuration (a
 * valid token, a recipient's number), so the table grows with them
 * only; ACK_QUIET_MAX bounds it all the same, a reload that renames
 * every recipient many times over at worst starting it afresh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_quiet.h"
#include "ack_int.h"
#include "util.h"
#include "xmalloc.h"

#define ACK_QUIET_MAX 4096

struct ack_quiet_entry {
	char rid[ID_MAX + 1];
	int64_t logged_ms[ACK_QUIET_N];
	unsigned long long left_out[ACK_QUIET_N];
};

struct ack_quiet {
	struct ack_quiet_entry *e;
	size_t n, cap;
};

struct ack_quiet *
ack_quiet_new(void)
{
	return xcalloc(1, sizeof(struct ack_quiet));
}

void
ack_quiet_free(struct ack_quiet *q)
{
	if (q == NULL)
		return;
	free(q->e);
	free(q);
}

/* rid's entry, made on its first use. */
static struct ack_quiet_entry *
ack_quiet_entry(struct ack_quiet *q, const char *rid)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->e[i].rid, rid) == 0)
			return &q->e[i];
	if (q->n == ACK_QUIET_MAX)
		q->n = 0;
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->e = xreallocarray(q->e, q->cap, sizeof(*q->e));
	}
	memset(&q->e[q->n], 0, sizeof(q->e[q->n]));
	snprintf(q->e[q->n].rid, sizeof(q->e[q->n].rid), "%s", rid);
	return &q->e[q->n++];
}

int
ack_quiet_due(struct ack_quiet *q, const char *rid, enum ack_quiet_kind kind,
    int64_t now, unsigned long long *left_out)
{
	struct ack_quiet_entry *e = ack_quiet_entry(q, rid);

	if (e->logged_ms[kind] != 0 &&
	    now - e->logged_ms[kind] < ACK_LOG_INTERVAL_MS) {
		e->left_out[kind]++;
		return 0;
	}
	e->logged_ms[kind] = now;
	*left_out = e->left_out[kind];
	e->left_out[kind] = 0;
	return 1;
}
