/*
 * Server-Sent Events for the operators' pages (GET /api/events): an
 * "alerts" event as soon as a webhook was committed (the page then asks
 * /api/alerts), and a "heartbeat" event every 5 seconds, so a page can
 * tell a quiet console from a lost one.  The events carry no alert
 * content, only the alert id.
 *
 * A stream is tied to its session.  When the session ends (logout,
 * session_idle, a new password) the stream says "expired" within one
 * heartbeat, and always before the next alert event, and stays open:
 * from then on it carries heartbeats and, where it would have said
 * "alerts", a "waiting" event.  Both carry {"waiting": N}, how many
 * alerts wait for a person (null when that could not be read), never an
 * alert id: the page rings and asks for a new login, the operator is
 * not left with a page that looks live and falls silent.
 */
#ifndef ALERTCONSOLE_CONSOLE_EVENTS_H
#define ALERTCONSOLE_CONSOLE_EVENTS_H

#include <event2/event.h>
#include <event2/http.h>

#define CONSOLE_EVENTS_HEARTBEAT_MS 5000

struct console_events;

/* At most max streams open at once, per_addr of them from one address
 * (max_event_streams, max_event_streams_per_address). */
struct console_events *console_events_new(struct console *c,
    struct event_base *base, long max, long per_addr);
/* Answers req with the stream (or 503 when too many are open, in all or
 * from its address); headers of the caller's choice are set already.
 * sid: the id of the session it was opened with (console_auth.h). */
void console_events_open(struct console_events *e, struct evhttp_request *req,
    const char *sid);
/* Tells every open page that alert_id changed (pages whose session
 * ended: how many wait). */
void console_events_alert(struct console_events *e, const char *alert_id);
/* Ends every stream; before evhttp_free(). */
void console_events_free(struct console_events *e);

#endif
