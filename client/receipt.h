/*
 * What happened to an alert, as the relay tells it: the events of
 * receipt frames and of a status answer (docs/PROTOCOL.md, "Receipts"),
 * one human line each, in the reader's language (gettext):
 *
 *	delivered to Contactpunt by webhook (1 of 2)
 *	escalated to tier 1
 *	NOT REACHED: Contactpunt by sms: gateway timeout (given up)
 *	acknowledged by Contactpunt at 10:35 CET via sms
 *	cancelled
 *
 * Every string in them is the relay's, made safe for a terminal.
 */
#ifndef ALERTCTL_RECEIPT_H
#define ALERTCTL_RECEIPT_H

#include <stddef.h>

#include <jansson.h>

#define RECEIPT_LINE_MAX 512
#define RECEIPT_TIME_FULL 1 /* date, time and zone */
#define RECEIPT_TIME_SHORT 0 /* "10:35 CET" */

/* Who describes an acknowledgement, with arg (the device's checker,
 * receipt_ack.h), passed per call: no state of the process decides it. */
typedef void (*receipt_ack_describer)(void *arg, const json_t *ev,
    const char *alert_id, int with_time, char *buf, size_t len);
/* with_time: an acknowledgement says when ("at 10:35").  alert_id: the
 * alert ev is of, which a signed acknowledgement must name
 * (ack_verify.h): one that does not is said to be false.  An
 * acknowledgement in the relay's words only: a device describes
 * receipts with receipt_ack_line() (receipt_ack.h). */
void receipt_describe(const json_t *ev, const char *alert_id, int with_time,
    char *buf, size_t len);
/* The same, acknowledgements described by fn(arg, ...). */
void receipt_describe_with(const json_t *ev, const char *alert_id,
    int with_time, receipt_ack_describer fn, void *arg, char *buf, size_t len);
/* An RFC 3339 time as local time with its zone ([client] timezone,
 * ltime.h), RECEIPT_TIME_*; the text as sent (cleaned) when it does not
 * parse; "?" when absent. */
void receipt_time(const char *at, int with_date, char *buf, size_t len);
/* An event, state or alert type the relay names, as one word in the
 * reader's language ("cancelled": "ingetrokken"); an unknown one (what
 * a later relay may add, or any text its store holds) cleaned into buf
 * (out_clean), so that what it returns is always safe to print: no
 * caller has to remember to clean it. */
#define RECEIPT_WORD_MAX 64
const char *receipt_word(const char *what, char *buf, size_t len);
/* The same event told twice (a receipt, then again in a status) gives
 * the same key (caller frees). */
char *receipt_key(const json_t *ev);

#endif
