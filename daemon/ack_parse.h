/*
 * The acknowledgement listener's request parsing, as pure functions
 * (no relay, no Redis, no sockets) so that fuzz/fuzz_ack_request.c can
 * drive them with any bytes: the HTTPS ack path and bearer token, an
 * SMS gateway's MO request (form fields, and its token from a header,
 * the body or the query string) and the `OK <ref>` text (also ACK or JA).
 *
 * References are ACK_REF_LEN letters of ack_ref_alphabet: 32 letters,
 * 5 bits each, 40 bits in all.  Why that is enough, with the failure
 * limits of ack_limit.h, is worked out in ack_limit.h.
 */
#ifndef ALERTRELAY_ACK_PARSE_H
#define ALERTRELAY_ACK_PARSE_H

#include <stddef.h>

#define ACK_REF_LEN 8
#define ACK_TOKEN_MAX 256 /* longest MO or ack token looked at */
#define ACK_TEXT_MAX 640 /* bytes of an SMS reply kept */
#define ACK_NUMBER_MAX 32 /* "+" and up to 30 digits */

/* No 0/O, 1/I: references are read off a phone and typed back. */
#define ACK_REF_ALPHABET "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
extern const char ack_ref_alphabet[];

/* Where a gateway's MO token came from; query strings end up in access
 * logs, so that one is only taken when the configuration says so. */
enum ack_token_source {
	ACK_TOKEN_NONE,
	ACK_TOKEN_HEADER, /* X-Alertrelay-Token, Authorization Bearer/Basic */
	ACK_TOKEN_BODY, /* token= in a POSTed form */
	ACK_TOKEN_QUERY, /* token= in the URL */
};

struct ack_mo {
	char from[ACK_NUMBER_MAX]; /* normalised, "" when absent */
	int has_text;
	int text_ok; /* the text was OK <ref> (or ACK, JA) */
	char text[ACK_TEXT_MAX + 1]; /* as sent, cut short; wipe after use */
	char ref[ACK_REF_LEN + 1];
	enum ack_token_source token_source;
	char token[ACK_TOKEN_MAX + 1]; /* wipe after use */
};

/* "/v1/alerts/<32 hex>/ack": 0 with the id in aid, else -1. */
int ack_parse_alert_path(const char *path, char aid[33]);

/* "/v1/alerts/<REF>/ack" (8 letters of the alphabet, upper case): 0
 * with the reference in ref, else -1. */
int ack_parse_ref_path(const char *path, char ref[ACK_REF_LEN + 1]);

/* GET /v1/inbox?hours=N: how far back the recipient's inbox looks. */
#define ACK_INBOX_HOURS_DEFAULT 24
#define ACK_INBOX_HOURS_MAX 168
int ack_parse_inbox_query(const char *query, long *hours);

/* "Bearer <token>" (RFC 6750): the token, or NULL. */
const char *ack_parse_bearer(const char *authorization);

/* "+31 6 1234 5678", "0031612345678", "06 1234 5678" (Dutch national,
 * made E.164 by phone_normalise as the configured numbers are) and
 * "31612345678" are one number: "+31612345678".  Digits beyond the
 * buffer are dropped. */
void ack_parse_number(const char *in, char *out, size_t len);

/* "OK K7Q2M9XD", "ACK K7Q2M9XD" or "JA K7Q2M9XD": any case, spaces
 * and punctuation around the word and the reference ("Ja, K7Q2-M9XD!"),
 * a '-' or ' ' between the two halves of the reference; 0 with the
 * reference upper-cased in ref. */
int ack_parse_text(const char *text, char ref[ACK_REF_LEN + 1]);

/* The gateway's token from the request's headers (either may be NULL):
 * X-Alertrelay-Token: TOKEN, Authorization: Bearer TOKEN, or
 * Authorization: Basic base64(user:TOKEN), which is what Kannel sends
 * for a get-url of the form http://user:TOKEN@host/...  0 with the
 * token in out, -1 when there is none (or it is malformed). */
int ack_parse_mo_header(const char *authorization, const char *x_token,
    char out[ACK_TOKEN_MAX + 1]);

/* An MO request: from and text (and perhaps token) from the query string
 * (GET) or from the form body (POST, body NUL-terminated, NULL for GET);
 * the token from the headers first, then the body, then the query.
 * -1 when the query or body is not a form. */
int ack_parse_mo(const char *query, const char *body, const char *authorization,
    const char *x_token, struct ack_mo *out);

/* The optional JSON body of POST /v1/alerts/<id>/ack, {"by":"NAME"}:
 * who at the recipient acknowledged (alertconsole sends its operator's
 * name).  0 with NAME in out (1..ACK_BY_MAX bytes, none a character
 * text_char calls bad: no control character, no bidi override), 1 when
 * the body is empty or has no "by", -2 when "by" is a string but no such
 * name, -1 when it is not such a body (invalid UTF-8 among it: jansson
 * refuses it). */
#define ACK_BY_MAX 64
int ack_parse_by(const char *body, size_t len, char out[ACK_BY_MAX + 1]);

#endif
