/*
 * The signed payloads in a device's frames (an alert's envelope, a
 * location update, a check-in, a cancel): the sending device as the
 * configuration has it now, the base64 payload and signature decoded,
 * and a verified envelope parsed, each refusal said to the device the
 * same way whatever the frame.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conn_int.h"

const struct device_entry *
conn_signed_device(struct conn *c)
{
	/* A reload may have removed the device since it authenticated. */
	const struct device_entry *dev =
	    relay_config_device(c->relay->cfg, c->device_id);

	if (dev == NULL || dev->revoked) {
		conn_error(c, dev == NULL ? "unknown_device" : "revoked",
		    dev == NULL ? "device is not enrolled"
		                : "device is revoked",
		    1);
		return NULL;
	}
	return dev;
}

int
conn_signed_decode(const char *b64, const char *s64, size_t max,
    unsigned char **raw, size_t *len, unsigned char sig[crypto_sign_BYTES])
{
	*raw = NULL;
	if (b64 == NULL || s64 == NULL || (max > 0 && strlen(b64) > max) ||
	    b64_decode(b64, strlen(b64), raw, len) != 0 ||
	    b64_decode_exact(s64, sig, crypto_sign_BYTES) != 0) {
		free(*raw);
		*raw = NULL;
		return -1;
	}
	return 0;
}

int
conn_signed_envelope(struct conn *c, int verified, const char *bad_sig,
    const unsigned char *raw, size_t len, struct envelope *env)
{
	char err[128];

	if (verified != 0) {
		conn_error(c, "bad_signature", bad_sig, 1);
		return -1;
	}
	if (envelope_decode((const char *)raw, len, env, err, sizeof(err)) !=
	    0) {
		conn_error(c, "bad_envelope", err, 1);
		return -1;
	}
	return 0;
}
