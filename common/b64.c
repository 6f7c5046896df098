/* Base64 through libsodium (b64.h). */
#include <string.h>

#include <sodium.h>

#include "b64.h"
#include "xmalloc.h"

#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL

char *
b64_encode(const void *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, B64_VARIANT);
	char *out = xmalloc(n);

	sodium_bin2base64(out, n, bin, len, B64_VARIANT);
	return out;
}

int
b64_decode(const char *text, size_t textlen, unsigned char **out,
    size_t *outlen)
{
	size_t cap = textlen / 4 * 3 + 3;
	unsigned char *buf = xmalloc(cap);
	const char *end;

	if (sodium_base642bin(buf, cap, text, textlen, NULL, outlen, &end,
	        B64_VARIANT) != 0 ||
	    end != text + textlen) {
		sodium_memzero(buf, cap); /* a key may be half decoded */
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

int
b64_decode_exact(const char *text, unsigned char *out, size_t len)
{
	size_t got;
	const char *end;
	size_t textlen = strlen(text);

	if (sodium_base642bin(out, len, text, textlen, NULL, &got, &end,
	        B64_VARIANT) != 0 ||
	    end != text + textlen || got != len)
		return -1;
	return 0;
}
