/* The relay protocol's framing: a 4-byte length and a JSON object (frame.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "frame.h"
#include "xmalloc.h"

enum frame_result
frame_pull(struct evbuffer *in, size_t max, char **payload, size_t *len)
{
	unsigned char hdr[FRAME_HEADER];
	uint32_t n;

	if (evbuffer_get_length(in) < FRAME_HEADER)
		return FRAME_INCOMPLETE;
	evbuffer_copyout(in, hdr, FRAME_HEADER);
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0)
		return FRAME_EMPTY;
	if (n > max)
		return FRAME_TOO_LARGE;
	if (evbuffer_get_length(in) < FRAME_HEADER + (size_t)n)
		return FRAME_INCOMPLETE;
	evbuffer_drain(in, FRAME_HEADER);
	*payload = xmalloc((size_t)n + 1);
	evbuffer_remove(in, *payload, n);
	(*payload)[n] = '\0';
	*len = n;
	return FRAME_OK;
}

int
frame_push(struct evbuffer *out, const json_t *obj, size_t max)
{
	unsigned char hdr[FRAME_HEADER];
	char *s;
	size_t n;
	int rc = -1;

	s = json_dumps(obj, JSON_COMPACT);
	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n > 0 && n <= max) {
		hdr[0] = (unsigned char)(n >> 24);
		hdr[1] = (unsigned char)(n >> 16);
		hdr[2] = (unsigned char)(n >> 8);
		hdr[3] = (unsigned char)n;
		if (evbuffer_add(out, hdr, sizeof(hdr)) == 0 &&
		    evbuffer_add(out, s, n) == 0)
			rc = 0;
	}
	free(s);
	return rc;
}

json_t *
frame_parse(const char *payload, size_t len, const char **type, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *obj;

	obj = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		/* jerr.text quotes the input: keep it out of messages,
		 * which end up in logs. */
		snprintf(err, errlen, "invalid JSON near byte %d",
		    jerr.position);
		return NULL;
	}
	if (!json_is_object(obj) || (*type = json_str(obj, "type")) == NULL) {
		snprintf(err, errlen, "frame is not an object with a type");
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *
frame_signed(const char *type, const char *field, const char *text,
    const unsigned char *sig, size_t siglen, const char *sig_field)
{
	char *t64 = b64_encode(text, strlen(text));
	char *s64 = b64_encode(sig, siglen);
	json_t *frame = json_pack("{s:s, s:s, s:s}", "type", type, field, t64,
	    sig_field, s64);

	free(t64);
	free(s64);
	return frame;
}

const char *
json_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int
json_str_copy(const json_t *obj, const char *key, char *dst, size_t size)
{
	const char *v = json_str(obj, key);

	if (v == NULL || strlen(v) >= size)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int
json_bool_get(const json_t *obj, const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}
