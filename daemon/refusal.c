/*
 * Counting and rate-limited logging of refused connections (refusal.h).
 */
#include "fdbudget.h"
#include "metrics.h"
#include "refusal.h"

static struct refuse_log logs[LISTENER_NKINDS][CONN_REFUSE_NREASONS];

/* What the hooks' argument points at: one per kind. */
static const enum listener_kind kinds[LISTENER_NKINDS] = {LISTENER_DEVICE,
    LISTENER_ACK, LISTENER_ACK_PLAIN, LISTENER_ADMIN};

void
refusal_note(enum listener_kind kind, enum conn_refuse why, const char *detail)
{
	metrics.conn_refused[kind][why]++;
	refuse_log_note(&logs[kind][why], metrics_listener_name(kind), why,
	    detail);
}

static void
refusal_hook(void *arg, enum conn_refuse why, const char *detail)
{
	refusal_note(*(const enum listener_kind *)arg, why, detail);
}

void
refusal_hooks(enum listener_kind kind, struct http_guard_hooks *hooks)
{
	hooks->fd_cap = fdbudget_cap(kind);
	hooks->refused = refusal_hook;
	hooks->arg = (void *)&kinds[kind];
}
