/*
 * The admin listener: GET /metrics (Prometheus text format),
 * GET /healthz, and with [admin] token_file's token only POST /reload,
 * GET /deadletter and POST /deadletter/replay (admin_deadletter.h),
 * GET /audit and POST /device/forget (admin_lifecycle.h),
 * plain HTTP, bound to a loopback address only, answering only requests
 * whose Host names the listener itself (admin_auth.h).
 */
#ifndef ALERTRELAY_ADMIN_H
#define ALERTRELAY_ADMIN_H

struct relay;
struct admin;

/* 0 and *out == NULL when disabled; -1 with a logged reason on failure. */
/* worker: with [relay] workers > 1, worker i listens on the configured
 * port + i (workers.h); 0 otherwise. */
int admin_open(struct relay *relay, int worker, struct admin **out);
void admin_close(struct admin *a);

#endif
