/*
 * GET /metrics (Prometheus text format) on metrics_listen, a listener
 * of its own (loopback plain HTTP, or TLS elsewhere; no login, no
 * alert content): how many alerts wait for a person (counted from the
 * table of open alerts at each scrape), how many came, and how long
 * operators took to claim and to acknowledge, as histograms.  The
 * count and the histograms are kept in memory: read from the whole
 * history once at start, then moved by each delivery, claim and
 * acknowledgement as it commits, so a scrape never reads the history
 * on the event loop.
 */
#ifndef ALERTCONSOLE_CONSOLE_METRICS_H
#define ALERTCONSOLE_CONSOLE_METRICS_H

struct console;
struct evhttp_request;

/* What was committed about an alert. */
enum console_metrics_event {
	CONSOLE_METRICS_DELIVERED, /* a delivery of it (alert.raised, ...) */
	CONSOLE_METRICS_CLAIMED, /* a "claimed" timeline row */
	CONSOLE_METRICS_ACKED, /* acknowledged: here, or a relay notice */
};

/* At start, with metrics_listen set: the figures from the database
 * (c->metrics); 0, or -1 (logged).  Without metrics_listen nothing is
 * kept and console_metrics_note does nothing. */
int console_metrics_load(struct console *c);
void console_metrics_free(struct console *c);

/* After the commit of e about alert_id: the alert counts once, when
 * its first delivery and its first claim (or acknowledgement) are both
 * in; one lookup of that alert's rows. */
void console_metrics_note(struct console *c, const char *alert_id,
    enum console_metrics_event e);

/* How many alerts wait for a person now (the gauge
 * alertconsole_alerts_waiting, and what a page whose session ended is
 * told); -1 (logged) on an error.  One query of the open alerts. */
long long console_metrics_waiting(struct console *c);

void console_metrics_request(struct console *c, struct evhttp_request *req);

#endif
