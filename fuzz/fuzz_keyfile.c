/*
 * libFuzzer target: key files as every program reads them from disk
 * (common/keyfile.c): one line of base64, a public key (org_key,
 * relay_pin, public_key) or a secret one, and a webhook secret in
 * "whsec_" form.  The input is written to a file of mode 0600 and read
 * the ways the programs read it; what is accepted is checked.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"

static char dir[] = "/tmp/fuzz_keyfile.XXXXXX";

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
	static int ready;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char path[64], err[256];
	int fd;

	if (!ready && mkdtemp(dir) == NULL)
		abort();
	ready = 1;
	snprintf(path, sizeof(path), "%s/key", dir);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	check_text(path);
	(void)keyfile_read(path, pk, sizeof(pk), 1, err, sizeof(err));
	/* org_key = FILE, relative to the configuration's directory */
	(void)keyfile_pubkey(dir, "key", pk, sizeof(pk), err, sizeof(err));
	return 0;
}
