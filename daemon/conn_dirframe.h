/*
 * The directory answer ({"type":"directory","version":N,"signed":...}
 * as a whole frame), encoded once per directory and shared by every
 * connection that asks for it.
 */
#ifndef ALERTRELAY_CONN_DIRFRAME_H
#define ALERTRELAY_CONN_DIRFRAME_H

#include <event2/buffer.h>

#include "directory.h"

/* Appends the frame for d to out, by reference; -1 if it cannot be
 * encoded or exceeds DIRECTORY_FRAME_MAX. */
int conn_dirframe_push(struct evbuffer *out, const struct directory *d);
/* Drops the cached frame (shutdown); buffers still holding it keep it
 * until they are done with it. */
void conn_dirframe_clear(void);

#endif
