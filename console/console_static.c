/*
 * The page's files, held in memory (see console_static.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_static.h"
#include "log.h"
#include "xmalloc.h"

static struct console_static_file console_static_files[] = {
    {"/", "index.html", "text/html; charset=utf-8", NULL, 0},
    {"/index.html", "index.html", "text/html; charset=utf-8", NULL, 0},
    {"/app.js", "app.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/style.css", "style.css", "text/css; charset=utf-8", NULL, 0},
    {"/map.js", "map.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/history.js", "history.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/login.html", "login.html", "text/html; charset=utf-8", NULL, 0},
    {"/login.js", "login.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/alert.html", "alert.html", "text/html; charset=utf-8", NULL, 0},
    {"/alert.js", "alert.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/api.js", "api.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/header.js", "header.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/alarm.js", "alarm.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/duress.js", "duress.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/notice.js", "notice.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/expired.js", "expired.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/loader.js", "loader.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/stream.js", "stream.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/i18n.js", "i18n.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/lang/nl.json", "lang/nl.json", "application/json", NULL, 0},
    {"/lang/en.json", "lang/en.json", "application/json", NULL, 0},
    {"/alarm.wav", "alarm.wav", "audio/wav", NULL, 0},
};

/* Leaflet, from leaflet_dir, only when there is a map to draw: its
 * module, its style sheet and the marker images the style sheet names
 * (relative to itself, so under /leaflet/images/). */
static struct console_static_file console_static_leaflet[] = {
    {"/leaflet/leaflet.js", "leaflet.esm.min.js",
        "text/javascript; charset=utf-8", NULL, 0},
    {"/leaflet/leaflet.css", "leaflet.css", "text/css; charset=utf-8", NULL, 0},
    {"/leaflet/images/marker-icon.png", "images/marker-icon.png", "image/png",
        NULL, 0},
    {"/leaflet/images/marker-icon-2x.png", "images/marker-icon-2x.png",
        "image/png", NULL, 0},
    {"/leaflet/images/marker-shadow.png", "images/marker-shadow.png",
        "image/png", NULL, 0},
};

#define CONSOLE_STATIC_N(t) (sizeof(t) / sizeof(t[0]))

static int
console_static_read(const char *dir, struct console_static_file *f)
{
	char *path = xasprintf("%s/%s", dir, f->name);
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL) {
		log_warn("static file %s", path);
		free(path);
		return -1;
	}
	f->data = xmalloc(CONSOLE_STATIC_MAX + 1);
	n = fread(f->data, 1, CONSOLE_STATIC_MAX + 1, fp);
	fclose(fp);
	if (n > CONSOLE_STATIC_MAX) {
		log_warnx("static file %s: larger than %d bytes", path,
		    CONSOLE_STATIC_MAX);
		free(path);
		return -1;
	}
	f->len = n;
	free(path);
	return 0;
}

static int
console_static_load_table(const char *dir, struct console_static_file *t,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (console_static_read(dir, &t[i]) != 0)
			return -1;
	return 0;
}

int
console_static_load(const char *dir, const char *leaflet_dir)
{
	if (console_static_load_table(dir, console_static_files,
	        CONSOLE_STATIC_N(console_static_files)) != 0)
		return -1;
	if (leaflet_dir == NULL)
		return 0;
	if (console_static_load_table(leaflet_dir, console_static_leaflet,
	        CONSOLE_STATIC_N(console_static_leaflet)) != 0) {
		log_warnx("map_tiles needs Leaflet in leaflet_dir = %s "
		          "(Debian package libjs-leaflet)",
		    leaflet_dir);
		return -1;
	}
	return 0;
}

/* A file not loaded (Leaflet without a map) is not there. */
static const struct console_static_file *
console_static_in(const struct console_static_file *t, size_t n,
    const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].data != NULL && strcmp(t[i].path, path) == 0)
			return &t[i];
	return NULL;
}

const struct console_static_file *
console_static_find(const char *path)
{
	const struct console_static_file *f;

	f = console_static_in(console_static_files,
	    CONSOLE_STATIC_N(console_static_files), path);
	if (f == NULL)
		f = console_static_in(console_static_leaflet,
		    CONSOLE_STATIC_N(console_static_leaflet), path);
	return f;
}

static void
console_static_free_table(struct console_static_file *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(t[i].data);
		t[i].data = NULL;
	}
}

void
console_static_free(void)
{
	console_static_free_table(console_static_files,
	    CONSOLE_STATIC_N(console_static_files));
	console_static_free_table(console_static_leaflet,
	    CONSOLE_STATIC_N(console_static_leaflet));
}
