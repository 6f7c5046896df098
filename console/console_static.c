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
    {"/login.html", "login.html", "text/html; charset=utf-8", NULL, 0},
    {"/login.js", "login.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/alert.html", "alert.html", "text/html; charset=utf-8", NULL, 0},
    {"/alert.js", "alert.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/api.js", "api.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/header.js", "header.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/alarm.js", "alarm.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/i18n.js", "i18n.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/lang/nl.json", "lang/nl.json", "application/json", NULL, 0},
    {"/lang/en.json", "lang/en.json", "application/json", NULL, 0},
    {"/alarm.wav", "alarm.wav", "audio/wav", NULL, 0},
};

#define CONSOLE_STATIC_N                                                       \
	(sizeof(console_static_files) / sizeof(console_static_files[0]))

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

int
console_static_load(const char *dir)
{
	size_t i;

	for (i = 0; i < CONSOLE_STATIC_N; i++)
		if (console_static_read(dir, &console_static_files[i]) != 0)
			return -1;
	return 0;
}

const struct console_static_file *
console_static_find(const char *path)
{
	size_t i;

	for (i = 0; i < CONSOLE_STATIC_N; i++)
		if (strcmp(console_static_files[i].path, path) == 0)
			return &console_static_files[i];
	return NULL;
}

void
console_static_free(void)
{
	size_t i;

	for (i = 0; i < CONSOLE_STATIC_N; i++) {
		free(console_static_files[i].data);
		console_static_files[i].data = NULL;
	}
}
