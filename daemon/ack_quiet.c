/*
 * The per-recipient budget of acknowledgement log lines and audit
 * records (ack_quiet.h), in the ack listener's table of recipients
 * (ack_recipients.h).
 */
#include <stdlib.h>

#include "ack_quiet.h"
#include "ack_int.h"
#include "ack_recipients.h"
#include "xmalloc.h"

struct ack_quiet {
	struct ack_recipients *t;
};

struct ack_quiet_entry {
	int64_t logged_ms[ACK_QUIET_N];
	unsigned long long left_out[ACK_QUIET_N];
};

struct ack_quiet *
ack_quiet_new(void)
{
	struct ack_quiet *q = xcalloc(1, sizeof(*q));

	q->t = ack_recipients_new(sizeof(struct ack_quiet_entry));
	return q;
}

void
ack_quiet_free(struct ack_quiet *q)
{
	if (q == NULL)
		return;
	ack_recipients_free(q->t);
	free(q);
}

int
ack_quiet_due(struct ack_quiet *q, const char *rid, enum ack_quiet_kind kind,
    int64_t now, unsigned long long *left_out)
{
	int made;
	struct ack_quiet_entry *e = ack_recipients_get(q->t, rid, &made);

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
