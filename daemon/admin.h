/*
 * The admin listener: GET /metrics (Prometheus text format) and
 * GET /healthz, plain HTTP, bound to a loopback address only.
 */
#ifndef ALERTRELAY_ADMIN_H
#define ALERTRELAY_ADMIN_H

struct relay;
struct admin;

/* 0 and *out == NULL when disabled; -1 with a logged reason on failure. */
int admin_open(struct relay *relay, struct admin **out);
void admin_close(struct admin *a);

#endif
