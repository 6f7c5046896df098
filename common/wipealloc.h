/*
 * Allocation functions that wipe what they free, for libraries that copy
 * our secrets into memory they allocate and free themselves: libcurl
 * (credentials, URLs, headers, request buffers) and jansson (parsed
 * strings).  Each block is wiped whole, to its usable size, before it
 * goes back to malloc.
 */
#ifndef ALERTRELAY_WIPEALLOC_H
#define ALERTRELAY_WIPEALLOC_H

#include <stddef.h>

/* free(), after wiping the whole block; NULL is ignored. */
void wipealloc_free(void *p);
/* realloc() that never leaves the old block unwiped: it always moves. */
void *wipealloc_realloc(void *p, size_t n);

/*
 * curl_global_init(flags) with libcurl's memory functions set to these,
 * so that what curl copies (CURLOPT_USERPWD, CURLOPT_URL, headers, its
 * request and connection buffers) is wiped when curl frees it.  It must
 * be the process's first curl_global_init: curl takes memory functions
 * only then.  0, or -1 when curl failed to initialise.
 */
int wipealloc_curl_init(long flags);

#endif
