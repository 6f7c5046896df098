/*
 * Decoding the device's signed cancel a relay passes on
 * (signed_cancel.h).
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "frame.h"
#include "signed_cancel.h"

/* The longest base64 text of SIGNED_CANCEL_MAX bytes, padding included:
 * a longer one is refused before anything is decoded. */
#define SIGNED_CANCEL_B64_MAX (((SIGNED_CANCEL_MAX) + 2) / 3 * 4)

int
signed_cancel_decode(const json_t *o, struct signed_cancel *sc)
{
	const char *b64 = json_str(o, "cancel"),
	           *sigtext = json_str(o, "cancel_sig");

	memset(sc, 0, sizeof(*sc));
	if (b64 == NULL || sigtext == NULL ||
	    strlen(b64) > SIGNED_CANCEL_B64_MAX ||
	    b64_decode_exact(sigtext, sc->sig, sizeof(sc->sig)) != 0 ||
	    b64_decode(b64, strlen(b64), &sc->json, &sc->len) != 0 ||
	    sc->len > SIGNED_CANCEL_MAX) {
		signed_cancel_free(sc);
		return -1;
	}
	return 0;
}

json_t *
signed_cancel_parse(const struct signed_cancel *sc)
{
	if (sc->json == NULL)
		return NULL;
	return json_loadb((const char *)sc->json, sc->len,
	    JSON_REJECT_DUPLICATES, NULL);
}

void
signed_cancel_free(struct signed_cancel *sc)
{
	free(sc->json);
	memset(sc, 0, sizeof(*sc));
}
