/*
 * Rate-limited logging of events a peer causes at will (log_budget.h).
 */
#include "log.h"
#include "log_budget.h"
#include "util.h"

int
log_budget_take(struct log_budget *b)
{
	int64_t now = monotonic_ms();

	if (b->window_start_ms == 0 ||
	    now - b->window_start_ms >= LOG_BUDGET_WINDOW_MS) {
		if (b->left_out > 0)
			log_warnx("log: %llu lines about %s left out in the "
			          "last %d s",
			    b->left_out, b->what, LOG_BUDGET_WINDOW_MS / 1000);
		b->window_start_ms = now;
		b->used = 0;
		b->left_out = 0;
	}
	if (b->used < LOG_BUDGET_LINES) {
		b->used++;
		return 1;
	}
	b->left_out++;
	return 0;
}
