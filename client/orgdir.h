/*
 * The administrator's organisation directory (docs/DIRECTORY.md):
 *
 *	org.key			the organisation's Ed25519 secret key (0600)
 *	org.pub			its public key
 *	directory.json		the unsigned source, with the version last
 *signed directory.signed	the last signed directory devices/ID.bundle
 *enrollment bundles (0600) recipients/ID.key	recipient secret keys (0600),
 *and ID.pub
 *
 * The org, device, recipient and directory commands edit the source as
 * a jansson tree and save it whole, atomically; a source that
 * directory_parse() refuses is never saved, so every edit leaves one
 * that can be signed.
 */
#ifndef ALERTCTL_ORGDIR_H
#define ALERTCTL_ORGDIR_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

#include "log.h"
#include "util.h"

#define ORGDIR_KEY "org.key"
#define ORGDIR_PUB "org.pub"
#define ORGDIR_SOURCE "directory.json"
#define ORGDIR_SIGNED "directory.signed"
#define ORGDIR_DEVICES "devices"
#define ORGDIR_RECIPIENTS "recipients"

struct orgdir {
	char *path;
	json_t *src; /* directory.json */
};

/* The directory: opt (--org), else $ALERTCTL_ORG, else
 * ~/.local/share/alertrelay/org (caller frees); NULL when there is no
 * home to find it in. */
char *orgdir_path(const char *opt);
/* Finds the directory and loads its source; logs why not. */
int orgdir_open(struct orgdir *o, const char *opt);
void orgdir_close(struct orgdir *o);
/* A file of the directory: orgdir_file(o, "devices/%s.bundle", id). */
char *orgdir_file(const struct orgdir *o, const char *fmt, ...)
    PRINTFLIKE(2, 3);
/* Would directory_parse() take the source?  Logs why not.  Commands
 * check their edit before they write any key, so that a refused edit
 * leaves no key behind. */
int orgdir_check(const struct orgdir *o);
/* Checks the source and writes it; logs why not. */
int orgdir_save(const struct orgdir *o);

/* The organisation's secret key (guarded, read-only) once checked to be
 * whole; NULL, logged, when it cannot be used. */
unsigned char *orgdir_key(const struct orgdir *o);
int orgdir_pub(const struct orgdir *o,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

/* The source's "devices" or "recipients" list. */
json_t *orgdir_list(const struct orgdir *o, const char *which);
/* The entry with this id in that list, NULL (logged when complain) when
 * there is none. */
json_t *orgdir_find(const struct orgdir *o, const char *which, const char *id,
    int complain);
/* The id of a new entry: given (--id), else made from the alias;
 * logged when it is not valid or already taken. */
int orgdir_new_id(const struct orgdir *o, const char *which, const char *alias,
    const char *given, char id[ID_MAX + 1]);

#endif
