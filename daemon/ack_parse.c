/* The acknowledgement listener's request parsing (see ack_parse.h). */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "ack_parse.h"
#include "b64.h"
#include "phone.h"
#include "text_char.h"
#include "util.h"

const char ack_ref_alphabet[] = ACK_REF_ALPHABET;

#define ACK_PATH_PRE "/v1/alerts/"
#define ACK_PATH_POST "/ack"

int
ack_parse_alert_path(const char *path, char aid[33])
{
	const size_t pre = strlen(ACK_PATH_PRE);

	if (path == NULL || strncmp(path, ACK_PATH_PRE, pre) != 0 ||
	    strlen(path) != pre + 32 + strlen(ACK_PATH_POST) ||
	    strcmp(path + pre + 32, ACK_PATH_POST) != 0)
		return -1;
	memcpy(aid, path + pre, 32);
	aid[32] = '\0';
	return alert_id_valid(aid) ? 0 : -1;
}

/* "/v1/alerts/K7Q2M9XD/ack": what the person read in an SMS or on the
 * receiver, typed as it was printed (upper case). */
int
ack_parse_ref_path(const char *path, char ref[ACK_REF_LEN + 1])
{
	const size_t pre = strlen(ACK_PATH_PRE);
	size_t i;

	if (path == NULL || strncmp(path, ACK_PATH_PRE, pre) != 0 ||
	    strlen(path) != pre + ACK_REF_LEN + strlen(ACK_PATH_POST) ||
	    strcmp(path + pre + ACK_REF_LEN, ACK_PATH_POST) != 0)
		return -1;
	for (i = 0; i < ACK_REF_LEN; i++)
		if (path[pre + i] == '\0' ||
		    strchr(ack_ref_alphabet, path[pre + i]) == NULL)
			return -1;
	memcpy(ref, path + pre, ACK_REF_LEN);
	ref[ACK_REF_LEN] = '\0';
	return 0;
}

/* "hours=N" (1..ACK_INBOX_HOURS_MAX) or nothing: the inbox's window. */
int
ack_parse_inbox_query(const char *query, long *hours)
{
	struct evkeyvalq q;
	const char *v;
	int rc = 0;

	*hours = ACK_INBOX_HOURS_DEFAULT;
	if (query == NULL || *query == '\0')
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) != 0)
		rc = -1;
	else if ((v = evhttp_find_header(&q, "hours")) != NULL &&
	    parse_long(v, 1, ACK_INBOX_HOURS_MAX, hours) != 0)
		rc = -1;
	evhttp_clear_headers(&q);
	return rc;
}

const char *
ack_parse_bearer(const char *authorization)
{
	if (authorization == NULL ||
	    strncmp(authorization, "Bearer ", 7) != 0 ||
	    authorization[7] == '\0')
		return NULL;
	return authorization + 7;
}

void
ack_parse_number(const char *in, char *out, size_t len)
{
	char e164[PHONE_MAX];
	size_t n = 0;

	if (len < 2) {
		if (len == 1)
			out[0] = '\0';
		return;
	}
	/* As the configured numbers were read (relay_config.c), so that a
	 * gateway passing a Dutch number as 06... finds its recipient. */
	switch (phone_normalise(in, e164)) {
	case PHONE_OK:
	case PHONE_NORMALISED:
		snprintf(out, len, "%s", e164);
		return;
	default:
		break;
	}
	/* Gateways also leave out the '+' ("31612345678"), which no
	 * configured number does: the digits, as international. */
	if (in[0] == '0' && in[1] == '0')
		in += 2;
	out[n++] = '+';
	for (; *in != '\0' && n + 1 < len; in++)
		if (isdigit((unsigned char)*in))
			out[n++] = *in;
	out[n] = '\0';
}

/* Spaces and the punctuation a person types around a reply. */
static const char *
ack_parse_skip_loose(const char *s)
{
	while (*s != '\0' &&
	    (isspace((unsigned char)*s) || strchr(".,;:!?'\"()-", *s) != NULL))
		s++;
	return s;
}

/* OK, ACK or JA, as a word of its own: the text after it, or NULL. */
static const char *
ack_parse_word(const char *text)
{
	static const char *const words[] = {"ack", "ok", "ja"};
	size_t i, n;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		n = strlen(words[i]);
		if (strncasecmp(text, words[i], n) == 0 &&
		    !isalnum((unsigned char)text[n]))
			return text + n;
	}
	return NULL;
}

int
ack_parse_text(const char *text, char ref[ACK_REF_LEN + 1])
{
	size_t n = 0;
	char c;

	ref[0] = '\0';
	text = ack_parse_skip_loose(text);
	if ((text = ack_parse_word(text)) == NULL ||
	    ack_parse_skip_loose(text) == text)
		return -1;
	text = ack_parse_skip_loose(text);
	while (n < ACK_REF_LEN && *text != '\0') {
		/* "K7Q2-M9XD" and "K7Q2 M9XD", as a person may type it */
		if (n == ACK_REF_LEN / 2 && (*text == '-' || *text == ' ')) {
			text++;
			continue;
		}
		c = (char)toupper((unsigned char)*text);
		if (c == '\0' || strchr(ack_ref_alphabet, c) == NULL)
			break;
		ref[n++] = c;
		text++;
	}
	ref[n] = '\0';
	text = ack_parse_skip_loose(text);
	return n == ACK_REF_LEN && *text == '\0' ? 0 : -1;
}

static int
ack_parse_copy_token(const char *t, size_t len, char out[ACK_TOKEN_MAX + 1])
{
	if (len == 0 || len > ACK_TOKEN_MAX || memchr(t, '\0', len) != NULL)
		return -1;
	memcpy(out, t, len);
	out[len] = '\0';
	return 0;
}

/* Basic base64(user:password): the password is the token. */
static int
ack_parse_basic(const char *b64, char out[ACK_TOKEN_MAX + 1])
{
	unsigned char *raw = NULL;
	size_t len = 0, n = strlen(b64);
	const char *colon;
	int rc = -1;

	if (n > 2 * ACK_TOKEN_MAX || b64_decode(b64, n, &raw, &len) != 0)
		return -1;
	colon = memchr(raw, ':', len);
	if (colon != NULL)
		rc = ack_parse_copy_token(colon + 1,
		    len - (size_t)(colon + 1 - (const char *)raw), out);
	sodium_memzero(raw, len);
	free(raw);
	return rc;
}

int
ack_parse_mo_header(const char *authorization, const char *x_token,
    char out[ACK_TOKEN_MAX + 1])
{
	const char *t;

	out[0] = '\0';
	if (x_token != NULL)
		return ack_parse_copy_token(x_token, strlen(x_token), out);
	if ((t = ack_parse_bearer(authorization)) != NULL)
		return ack_parse_copy_token(t, strlen(t), out);
	if (authorization != NULL &&
	    strncasecmp(authorization, "Basic ", 6) == 0)
		return ack_parse_basic(authorization + 6, out);
	return -1;
}

/* token= of a form, if any: 1 when found and copied, 0 when absent, -1
 * when malformed. */
static int
ack_parse_form_token(struct evkeyvalq *q, char out[ACK_TOKEN_MAX + 1])
{
	const char *t = evhttp_find_header(q, "token");

	if (t == NULL)
		return 0;
	return ack_parse_copy_token(t, strlen(t), out) == 0 ? 1 : -1;
}

static void
ack_parse_fields(struct evkeyvalq *form, struct ack_mo *out)
{
	const char *from = evhttp_find_header(form, "from");
	const char *text = evhttp_find_header(form, "text");

	if (from != NULL)
		ack_parse_number(from, out->from, sizeof(out->from));
	if (text != NULL) {
		out->has_text = 1;
		snprintf(out->text, sizeof(out->text), "%s", text);
		out->text_ok = ack_parse_text(text, out->ref) == 0;
	}
}

static void
ack_parse_clear(struct evkeyvalq *q)
{
	struct evkeyval *kv;

	/* token= values are secrets: wiped before libevent frees them */
	for (kv = TAILQ_FIRST(q); kv != NULL; kv = TAILQ_NEXT(kv, next))
		if (kv->value != NULL)
			sodium_memzero(kv->value, strlen(kv->value));
	evhttp_clear_headers(q);
}

int
ack_parse_mo(const char *query, const char *body, const char *authorization,
    const char *x_token, struct ack_mo *out)
{
	struct evkeyvalq qs, bs;
	int rc = -1, found;

	memset(out, 0, sizeof(*out));
	TAILQ_INIT(&qs);
	TAILQ_INIT(&bs);
	if ((query != NULL && evhttp_parse_query_str(query, &qs) != 0) ||
	    (body != NULL && evhttp_parse_query_str(body, &bs) != 0))
		goto done;
	if (body == NULL && query == NULL)
		goto done;
	ack_parse_fields(body != NULL ? &bs : &qs, out);
	if (authorization != NULL || x_token != NULL) {
		if (ack_parse_mo_header(authorization, x_token, out->token) ==
		    0)
			out->token_source = ACK_TOKEN_HEADER;
	} else if ((found = ack_parse_form_token(&bs, out->token)) != 0) {
		if (found == 1)
			out->token_source = ACK_TOKEN_BODY;
	} else if (ack_parse_form_token(&qs, out->token) == 1)
		out->token_source = ACK_TOKEN_QUERY;
	rc = 0;
done:
	ack_parse_clear(&qs);
	ack_parse_clear(&bs);
	return rc;
}

/* Who, by name: shown to the device and to everyone notified, so only
 * what alertctl and alertconsole show (text_char.h): a name they would
 * show as "?" recorded an acknowledgement nobody could see the taker
 * of, and no control character (a receipt line must stay one line). */
int
ack_parse_by(const char *body, size_t len, char out[ACK_BY_MAX + 1])
{
	json_t *o, *by;
	const char *v;
	size_t n;
	int rc = -1;

	if (len == 0)
		return 1;
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return -1;
	if (!json_is_object(o))
		goto done;
	if ((by = json_object_get(o, "by")) == NULL) {
		rc = 1;
		goto done;
	}
	if ((v = json_string_value(by)) == NULL)
		goto done;
	n = json_string_length(by);
	/* strlen: a "\u0000" would cut the name short */
	if (strlen(v) != n || !text_ok(v, ACK_BY_MAX)) {
		rc = -2;
		goto done;
	}
	memcpy(out, v, n + 1);
	rc = 0;
done:
	json_decref(o);
	return rc;
}
