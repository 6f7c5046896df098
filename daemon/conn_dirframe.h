/*
 * The directory answer ({"type":"directory","version":N,"signed":...}
 * as a whole frame), encoded once per directory and shared by every
 * connection that asks for it.
 */
#ifndef ALERTRELAY_CONN_DIRFRAME_H
#define ALERTRELAY_CONN_DIRFRAME_H

#include <event2/buffer.h>

#include "directory.h"

/* Appends the frame for d to out, by reference; -1 if memory ran out.
 * d's frame fits DIRECTORY_FRAME_MAX: a directory whose frame would not
 * is refused where it is loaded (relay_directory.c). */
int conn_dirframe_push(struct evbuffer *out, const struct directory *d);
/* The length of d's frame payload (JSON escapes what the file's layout
 * holds: newlines and tabs count twice); 0 if it cannot be encoded. */
size_t conn_dirframe_size(const struct directory *d);
/* Drops the cached frame (shutdown); buffers still holding it keep it
 * until they are done with it. */
void conn_dirframe_clear(void);

#endif
