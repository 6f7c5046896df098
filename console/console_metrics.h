/*
 * GET /metrics (Prometheus text format) on metrics_listen, a listener
 * of its own (loopback plain HTTP, or TLS elsewhere; no login, no
 * alert content): how many alerts wait for a person, and how long
 * operators took to claim and to acknowledge, as histograms, computed
 * from the database at each scrape.
 */
#ifndef ALERTCONSOLE_CONSOLE_METRICS_H
#define ALERTCONSOLE_CONSOLE_METRICS_H

struct console;
struct evhttp_request;

void console_metrics_request(struct console *c, struct evhttp_request *req);

#endif
