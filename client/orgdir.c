/*
 * The organisation directory: where it is, its source and its key.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "directory.h"
#include "keyfile.h"
#include "log.h"
#include "orgdir.h"
#include "seckey.h"
#include "xmalloc.h"

char *
orgdir_path(const char *opt)
{
	if (opt != NULL)
		return xstrdup(opt);
	return afile_default_path("ALERTCTL_ORG",
	    ".local/share/alertrelay/org");
}

char *
orgdir_file(const struct orgdir *o, const char *fmt, ...)
{
	char *name, *path;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&name, fmt, ap) == -1)
		log_fatal("vasprintf");
	va_end(ap);
	path = xasprintf("%s/%s", o->path, name);
	free(name);
	return path;
}

/* The source as it would be saved, NULL (err set) when directory_parse
 * refuses it. */
static char *
orgdir_dump(const struct orgdir *o, char *err, size_t errlen)
{
	struct directory d;
	char *text;

	text = json_dumps(o->src, JSON_INDENT(1));
	if (text == NULL)
		log_fatalx("cannot write the directory source as JSON");
	if (directory_parse(text, strlen(text), &d, err, errlen) != 0) {
		free(text);
		return NULL;
	}
	directory_free(&d);
	return text;
}

int
orgdir_open(struct orgdir *o, const char *opt)
{
	char *path, *text, err[512];
	json_error_t jerr;

	memset(o, 0, sizeof(*o));
	if ((o->path = orgdir_path(opt)) == NULL) {
		log_warnx("no organisation directory: give --org DIR or set "
		          "ALERTCTL_ORG");
		return -1;
	}
	path = orgdir_file(o, ORGDIR_SOURCE);
	text = NULL;
	if (access(path, F_OK) != 0)
		log_warnx("%s: no organisation here (no %s); create one with "
		          "'alertctl org init'",
		    o->path, ORGDIR_SOURCE);
	else if ((o->src = json_load_file(path, JSON_REJECT_DUPLICATES,
	              &jerr)) == NULL)
		log_warnx("%s:%d: %s", path, jerr.line, jerr.text);
	else if (!json_is_object(o->src))
		log_warnx("%s: not a JSON object", path);
	else if ((text = orgdir_dump(o, err, sizeof(err))) == NULL)
		log_warnx("%s: %s; fix it by hand", path, err);
	free(path);
	if (text == NULL) {
		orgdir_close(o);
		return -1;
	}
	free(text);
	return 0;
}

void
orgdir_close(struct orgdir *o)
{
	json_decref(o->src);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

int
orgdir_check(const struct orgdir *o)
{
	char *text, err[512];

	if ((text = orgdir_dump(o, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	free(text);
	return 0;
}

int
orgdir_save(const struct orgdir *o)
{
	char *path = orgdir_file(o, ORGDIR_SOURCE), *text, *line, err[512];
	int rc = -1;

	if ((text = orgdir_dump(o, err, sizeof(err))) == NULL)
		log_warnx("%s not saved: %s", path, err);
	else {
		line = xasprintf("%s\n", text);
		if (afile_write(path, line, strlen(line), 0644, AFILE_REPLACE,
		        err, sizeof(err)) != 0)
			log_warnx("%s", err);
		else
			rc = 0;
		free(line);
	}
	free(text);
	free(path);
	return rc;
}

int
orgdir_pub(const struct orgdir *o, unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	char *path = orgdir_file(o, ORGDIR_PUB), err[512];
	int rc;

	if ((rc = keyfile_read(path, pk, crypto_sign_PUBLICKEYBYTES, 0, err,
	         sizeof(err))) != 0)
		log_warnx("%s", err);
	free(path);
	return rc;
}

unsigned char *
orgdir_key(const struct orgdir *o)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], *sk;
	char *path = orgdir_file(o, ORGDIR_KEY), err[512];

	if ((sk = seckey_load(path, crypto_sign_SECRETKEYBYTES, err,
	         sizeof(err))) == NULL)
		log_warnx("%s", err);
	else if (!seckey_ed25519_valid(sk)) {
		log_warnx("%s is damaged: its public half does not belong to "
		          "its secret half",
		    path);
		seckey_free(sk);
		sk = NULL;
	} else if (orgdir_pub(o, pk) != 0 ||
	    sodium_memcmp(pk, sk + crypto_sign_SEEDBYTES, sizeof(pk)) != 0) {
		/* What it signed would verify with a key nobody has. */
		log_warnx("%s and %s do not belong together", path, ORGDIR_PUB);
		seckey_free(sk);
		sk = NULL;
	}
	free(path);
	return sk;
}

json_t *
orgdir_list(const struct orgdir *o, const char *which)
{
	return json_object_get(o->src, which);
}

json_t *
orgdir_find(const struct orgdir *o, const char *which, const char *id,
    int complain)
{
	json_t *e;
	size_t i;

	json_array_foreach(orgdir_list(o, which), i, e)
	{
		const char *s = json_string_value(json_object_get(e, "id"));

		if (s != NULL && strcmp(s, id) == 0)
			return e;
	}
	if (complain)
		/* "devices" -> "device" */
		log_warnx("no %.*s '%s' in %s/%s", (int)strlen(which) - 1,
		    which, id, o->path, ORGDIR_SOURCE);
	return NULL;
}

/* Lowercase, with every character outside [a-z0-9._-] made '-'; a
 * character of several UTF-8 bytes gives one '-'. */
static void
orgdir_id_of_alias(const char *alias, char id[ID_MAX + 1])
{
	const unsigned char *p;
	size_t n = 0;
	unsigned char c;

	for (p = (const unsigned char *)alias; *p != '\0' && n < ID_MAX; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;
		c = *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			id[n++] = (char)c;
		else
			id[n++] = '-';
	}
	id[n] = '\0';
}

int
orgdir_new_id(const struct orgdir *o, const char *which, const char *alias,
    const char *given, char id[ID_MAX + 1])
{
	if (given != NULL && !id_valid(given)) {
		log_warnx("--id '%s' is not 1-64 of A-Z a-z 0-9 . _ - (not "
		          "starting with . or -)",
		    given);
		return -1;
	}
	if (given != NULL)
		snprintf(id, ID_MAX + 1, "%s", given);
	else
		orgdir_id_of_alias(alias, id);
	if (!id_valid(id)) {
		log_warnx("'%s' makes no valid id; give one with --id", alias);
		return -1;
	}
	if (orgdir_find(o, which, id, 0) != NULL) {
		log_warnx("%.*s '%s' already exists", (int)strlen(which) - 1,
		    which, id);
		return -1;
	}
	return 0;
}
