/*
 * libFuzzer target: key files as every program reads them from disk
 * (common/keyfile.c): one line of base64, a public key (org_key,
 * relay_pin, public_key) or a secret one, and a webhook secret in
 * "whsec_" form.  The input is written to a file of mode 0600 and read
 * the ways the programs read it; what is accepted is checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz_file.h"
#include "keyfile.h"

static void
check_text(const char *path)
{
	unsigned char *key;
	size_t len;
	char err[256], *text;

	if (keyfile_read_text(path, 1, &text, err, sizeof(err)) != 0)
		return;
	if (text[0] == '\0' || strchr(text, '\n') != NULL)
		abort();
	if (whsec_decode(text, &key, &len) == 0) {
		if (len < WHSEC_MIN_BYTES)
			abort();
		free(key);
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char path[64], err[256];

	fuzz_file_write("key", data, size, path, sizeof(path));
	check_text(path);
	(void)keyfile_read(path, pk, sizeof(pk), 1, err, sizeof(err));
	/* org_key = FILE, relative to the configuration's directory */
	(void)keyfile_pubkey(fuzz_file_dir, "key", pk, sizeof(pk), err,
	    sizeof(err));
	return 0;
}
