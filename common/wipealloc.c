/*
 * Memory functions that wipe each block before freeing it, handed to
 * libraries (libcurl, jansson) that would otherwise free copies of our
 * secrets as they are.  The block's usable size comes from malloc
 * itself, so a library that does not say how much it allocated is
 * covered too.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "wipealloc.h"

void
wipealloc_free(void *p)
{
	if (p != NULL) {
		sodium_memzero(p, malloc_usable_size(p));
		free(p);
	}
}

void *
wipealloc_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	if ((q = malloc(n > 0 ? n : 1)) == NULL)
		return NULL; /* p is left as it was, as realloc() does */
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	wipealloc_free(p);
	return q;
}

static char *
wipealloc_strdup(const char *s)
{
	return strdup(s);
}

int
wipealloc_curl_init(long flags)
{
	if (sodium_init() < 0)
		return -1;
	return curl_global_init_mem(flags, malloc, wipealloc_free,
	           wipealloc_realloc, wipealloc_strdup, calloc) == CURLE_OK
	    ? 0
	    : -1;
}
