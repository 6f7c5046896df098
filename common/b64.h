/* Base64 through libsodium (standard alphabet, padded). */
#ifndef ALERTRELAY_B64_H
#define ALERTRELAY_B64_H

#include <stddef.h>

/* Returns a NUL-terminated string to free(). */
char *b64_encode(const void *bin, size_t len);
/* Decodes into a new buffer of *outlen bytes; -1 on bad input. */
int b64_decode(const char *text, size_t textlen, unsigned char **out,
    size_t *outlen);
/* Decodes exactly len bytes into out; -1 on bad input or wrong length. */
int b64_decode_exact(const char *text, unsigned char *out, size_t len);

#endif
