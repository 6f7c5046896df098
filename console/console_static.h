/*
 * The operators' page: a fixed list of files from static_dir, read into
 * memory at start, so serving them never touches the disk and no
 * request path can name any other file.
 */
#ifndef ALERTCONSOLE_CONSOLE_STATIC_H
#define ALERTCONSOLE_CONSOLE_STATIC_H

#include <stddef.h>

#define CONSOLE_STATIC_MAX (512 * 1024) /* bytes per file */

struct console_static_file {
	const char *path; /* request path */
	const char *name; /* file in static_dir */
	const char *type; /* Content-Type */
	char *data;
	size_t len;
};

/* Reads every file of dir, and Leaflet's from leaflet_dir unless NULL;
 * -1 (logged) when one is missing or too big. */
int console_static_load(const char *dir, const char *leaflet_dir);
/* The file for a request path, or NULL. */
const struct console_static_file *console_static_find(const char *path);
void console_static_free(void);

#endif
