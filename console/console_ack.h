/*
 * Acknowledging from the console: POST {ack_url}/v1/alerts/{id}/ack with
 * the recipient's ack token and {"by": operator}, on libcurl's multi
 * interface driven by the console's event loop (daemon/http_client.c,
 * the relay's own client), so the loop never waits for the relay.  The
 * operator's request is answered when the relay has answered.
 */
#ifndef ALERTCONSOLE_CONSOLE_ACK_H
#define ALERTCONSOLE_CONSOLE_ACK_H

#include <event2/event.h>

#define CONSOLE_ACK_CONNECT_MS 10000
#define CONSOLE_ACK_TIMEOUT_MS 20000
/* The relay's 429 (a recipient's request rate, its Retry-After 1 s):
 * tried again this often, this far apart, before the operator hears
 * that the relay is limiting the contact point's token. */
#define CONSOLE_ACK_429_TRIES 3
#define CONSOLE_ACK_429_WAIT_S 2

struct console;
struct console_ack;
struct console_recipient;
struct evhttp_request;

struct console_ack *console_ack_new(struct event_base *base);
/* Drops the acknowledgements still under way (their pages get no
 * answer: the console is stopping). */
void console_ack_free(struct console_ack *a);

/* Reads each recipient's ack token into locked memory; -1 (logged). */
int console_ack_tokens(struct console *c);
void console_ack_tokens_clear(struct console *c);

/* Sends the acknowledgement of alert_id by name and answers req:
 * 200 {"acknowledged":true}, 409 (cancelled), 502 (refused), 503
 * {"error":"rate_limited"} (the relay's 429 after every try), 504 (no
 * answer), 501 (no ack_url for this alert's recipient). */
void console_ack_send(struct console *c, struct evhttp_request *req,
    const char *alert_id, const char *name);

#endif
