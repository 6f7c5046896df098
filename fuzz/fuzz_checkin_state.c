/*
 * libFuzzer target: the device's record of its check-in
 * (client/checkin_state.c), read from disk by every alertctl checkin.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "checkin_state.h"
#include <syslog.h>

#include "log.h"

static char dir[] = "/tmp/fuzz_checkin_state.XXXXXX";
static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk[crypto_sign_SECRETKEYBYTES];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct client_config cfg;
	struct checkin_state st;
	char path[64];
	FILE *f;

	if (!ready) {
		if (sodium_init() < 0 || mkdtemp(dir) == NULL)
			abort();
		crypto_sign_keypair(pk, sk);
		log_init("fuzz", LOG_CRIT, LOG_TO_STDERR); /* syslog.h */
		ready = 1;
	}
	snprintf(path, sizeof(path), "%s/checkin.json", dir);
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.outbox = dir;
	if (checkin_state_load(&cfg, sk, &st) == 1)
		checkin_state_clear(&st);
	return 0;
}
