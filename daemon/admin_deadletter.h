/*
 * The dead letters on the admin listener: GET /deadletter lists them,
 * POST /deadletter/replay puts them back into the deliveries stream
 * (see admin_deadletter.c for the requests and answers).
 */
#ifndef ALERTRELAY_ADMIN_DEADLETTER_H
#define ALERTRELAY_ADMIN_DEADLETTER_H

struct relay;
struct evhttp_request;
struct admin_deadletter;

struct admin_deadletter *admin_deadletter_new(struct relay *relay);
/* Cancels what is waiting for Redis; before the requests are freed. */
void admin_deadletter_free(struct admin_deadletter *dl);
/* Each answers req, now or once Redis answered. */
void admin_deadletter_list(struct admin_deadletter *dl,
    struct evhttp_request *req);
void admin_deadletter_replay(struct admin_deadletter *dl,
    struct evhttp_request *req);

#endif
