/*
 * A budget of log lines for events that a peer can cause at will (failed
 * TLS handshakes and bad frames before authentication at the relay,
 * refused webhooks at a receiver, refused requests at the console): a
 * few lines per window, then one line saying how many were left out.  A
 * flood of them then costs a few log lines, not one per attempt (a log
 * that fills the disk is itself a denial of service).
 */
#ifndef ALERTRELAY_LOG_BUDGET_H
#define ALERTRELAY_LOG_BUDGET_H

#include <stdint.h>

#define LOG_BUDGET_LINES 20 /* lines per window */
#define LOG_BUDGET_WINDOW_MS 10000

struct log_budget {
	const char *what; /* names the events in the summary line */
	int64_t window_start_ms;
	unsigned used;
	unsigned long long left_out;
};

/* 1 if a line may be logged now; 0 if it is to be left out (counted). */
int log_budget_take(struct log_budget *b);

#endif
