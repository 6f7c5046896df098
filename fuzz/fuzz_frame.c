/*
 * libFuzzer target: the daemon's first contact with untrusted bytes.
 * Splits input into frames as the daemon does and parses each one.
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "frame.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *in = evbuffer_new();
	const char *type;
	char *payload, err[128];
	size_t len;
	json_t *o;

	evbuffer_add(in, data, size);
	while (frame_pull(in, 4096, &payload, &len) == FRAME_OK) {
		o = frame_parse(payload, len, &type, err, sizeof(err));
		if (o != NULL) {
			(void)json_str(o, "device_id");
			json_decref(o);
		}
		free(payload);
	}
	evbuffer_free(in);
	return 0;
}
