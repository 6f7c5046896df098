/*
 * GET /metrics (Prometheus text format) on metrics_listen, a listener
 * of its own (loopback plain HTTP, or TLS elsewhere; no login, no
 * alert content): how many alerts wait for a person, and how long
 * operators took to claim and to acknowledge, as histograms, computed
 * from the database when a webhook or timeline row came since the last
 * scrape (else the last answer again).
 */
#ifndef ALERTCONSOLE_CONSOLE_METRICS_H
#define ALERTCONSOLE_CONSOLE_METRICS_H

struct console;
struct evhttp_request;

void console_metrics_request(struct console *c, struct evhttp_request *req);

#endif
