/*
 * Framing of the relay protocol (docs/PROTOCOL.md): a 4-byte big-endian
 * length followed by that many bytes of a UTF-8 JSON object.
 */
#ifndef ALERTRELAY_FRAME_H
#define ALERTRELAY_FRAME_H

#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

#define FRAME_HEADER 4
#define FRAME_MAX_DEFAULT 65536
#define FRAME_MAX_LIMIT (1024 * 1024)

enum frame_result {
	FRAME_OK, /* a whole frame was taken out of the buffer */
	FRAME_INCOMPLETE, /* wait for more bytes */
	FRAME_TOO_LARGE, /* header announces more than max */
	FRAME_EMPTY, /* header announces zero bytes */
};

/*
 * Takes one frame out of in.  On FRAME_OK *payload is malloc'd and
 * NUL-terminated (the NUL is not counted in *len).
 */
enum frame_result frame_pull(struct evbuffer *in, size_t max, char **payload,
    size_t *len);
/* Appends obj as one frame; -1 if it does not encode or exceeds max. */
int frame_push(struct evbuffer *out, const json_t *obj, size_t max);

/*
 * Parses a frame's payload into a JSON object with a string "type".
 * Returns NULL and a reason in err when it is not one.
 */
json_t *frame_parse(const char *payload, size_t len, const char **type,
    char *err, size_t errlen);

/* A frame carrying a signed payload: {"type":type, field:B64(text),
 * sig_field:B64(sig)} (an alert's envelope, a cancel, a check-in). */
json_t *frame_signed(const char *type, const char *field, const char *text,
    const unsigned char *sig, size_t siglen, const char *sig_field);

/* Getters that return NULL/-1 when the member is missing or mistyped. */
const char *json_str(const json_t *obj, const char *key);
/* The string member key into dst (size bytes, with its NUL); -1 when it
 * is missing, mistyped or does not fit. */
int json_str_copy(const json_t *obj, const char *key, char *dst, size_t size);
int json_bool_get(const json_t *obj, const char *key, int *out);

#endif
