/*
 * libFuzzer target: the signed directory.  A hostile relay controls the
 * whole signed file a device is given (directory_verify parses it before
 * the signature is checked); the payload parser sees what the
 * organisation signed, and the administrator's unsigned source.  The
 * first byte picks which.
 */
#include <stdint.h>
#include <string.h>

#include "directory.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char org_pk[crypto_sign_PUBLICKEYBYTES];
	struct directory d;
	char err[256];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (directory_verify((const char *)data + 1, size - 1, org_pk,
		        &d, err, sizeof(err)) == 0)
			directory_free(&d);
	} else if (directory_parse((const char *)data + 1, size - 1, &d, err,
	               sizeof(err)) == 0)
		directory_free(&d);
	return 0;
}
